"""Realistic demo generations, deterministic for a seed.

Framework-free on purpose: ``manage.py seed_demo`` and the storage benchmarks both use it.
Documents are drawn in order from one source seeded once, so document ``n`` is the same
whatever ``count`` is, and ids (``demo-<seed>-<n>``) make a re-run replace, never duplicate.

Made for the insights page too: failures come from a few recurring causes per stage whose
messages differ in their volatile parts (request ids, sizes, URLs, quoted file names), so their
groups visibly merge them; one cause bursts within one hour of the last day (``burst_start``);
stage durations are log-normal with a long tail. Only the times depend on ``now``.
"""

from __future__ import annotations

import functools
import itertools
import math
import random
import re
import string
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

from storage_backends.base import GenerationStateStorage
from storage_backends.models import DEFAULT_STALLED_AFTER, STAGES, Stage, utcnow

#: How far back demo generations go.
SPREAD = timedelta(days=7)

#: (language, weight, prompts, script sentences). Some languages are non-ASCII on purpose.
LANGUAGES: list[tuple[str, int, list[str], list[str]]] = [
    ("en", 40, [
        "A video about how otters use tools",
        "Explain quantum computing to a ten-year-old",
        "The history of the Silk Road in 60 seconds",
        "Five tips for better sleep, backed by science",
        "Why do cats purr? A short documentary",
        "A motivational video for Monday morning",
        "How solar panels turn light into electricity",
        "The life cycle of a monarch butterfly",
    ], [
        "Every great journey starts with a single question.",
        "Scientists have studied this for more than a century.",
        "Here is the surprising part.",
        "It turns out the answer is simpler than you think.",
        "Let's look at the numbers.",
        "Nature solved this problem millions of years ago.",
        "Remember: small habits add up.",
        "And that is why it matters to all of us.",
    ]),
    ("es", 15, [
        "Un video sobre la migración de las ballenas",
        "Cómo preparar una paella auténtica",
        "La historia de la Alhambra en un minuto",
        "¿Por qué el cielo es azul?",
    ], [
        "Todo empieza con una pregunta sencilla.",
        "Los científicos llevan años estudiándolo.",
        "Aquí viene lo más sorprendente.",
        "La respuesta está en la naturaleza.",
        "¡Y eso lo cambia todo!",
    ]),
    ("fr", 12, [
        "Une vidéo sur la construction de la tour Eiffel",
        "Les secrets d'un croissant réussi",
        "Pourquoi les abeilles sont-elles essentielles ?",
        "L'histoire du café en soixante secondes",
    ], [
        "Tout commence par une idée très simple.",
        "Les chercheurs étudient ce phénomène depuis des décennies.",
        "Voici ce qui est vraiment étonnant.",
        "C'est là que tout bascule.",
        "Et c'est pour ça que c'est important.",
    ]),
    ("de", 12, [
        "Ein Video über die Geschichte der Berliner Mauer",
        "Wie funktioniert eine Wärmepumpe?",
        "Fünf Fakten über Bienen, die überraschen",
        "Die schönsten Märchen der Brüder Grimm",
    ], [
        "Alles beginnt mit einer einfachen Frage.",
        "Forscher beschäftigen sich seit Jahrzehnten damit.",
        "Jetzt wird es überraschend.",
        "Die Antwort liegt in der Natur.",
        "Und genau deshalb ist es so wichtig.",
    ]),
    ("ja", 10, [
        "富士山の四季を紹介する動画",
        "日本茶の淹れ方を一分で解説",
        "東京の夜景ベストスポット",
        "桜はなぜ春に咲くのか",
    ], [
        "すべては一つの問いから始まります。",
        "研究者たちは何十年もこれを調べてきました。",
        "ここからが驚きのポイントです。",
        "答えは自然の中にあります。",
        "だからこそ大切なのです。",
    ]),
    ("pt", 8, [
        "Um vídeo sobre a floresta amazônica",
        "Como fazer pão de queijo em casa",
        "A história do samba em um minuto",
    ], [
        "Tudo começa com uma pergunta simples.",
        "Os cientistas estudam isso há décadas.",
        "Agora vem a parte surpreendente.",
        "A resposta está na natureza.",
        "E é por isso que isso importa.",
    ]),
    ("it", 3, [
        "Un video sulla storia del Colosseo",
        "Come si prepara il tiramisù perfetto",
    ], [
        "Tutto inizia con una semplice domanda.",
        "Ecco la parte più sorprendente.",
        "E per questo è così importante.",
    ]),
]
_LANGUAGE_WEIGHTS = list(itertools.accumulate(weight for _, weight, _, _ in LANGUAGES))
ASPECT_RATIOS = ["16:9", "9:16", "1:1"]
_ASPECT_WEIGHTS = list(itertools.accumulate([50, 35, 15]))
MOODS = ["informative", "inspiring", "calm", "energetic", "humorous", "dramatic"]
VOICES = ["alloy", "nova", "shimmer", "echo", "onyx", "fable"]
KEYWORDS = [
    "nature", "ocean", "city", "science", "history", "food", "technology", "animals", "space",
    "mountains", "forest", "people", "sunrise", "laboratory", "market", "river", "night sky",
]


class Cause(NamedTuple):
    """A recurring failure: how often it happens against the other causes of its stage, and its
    message, whose ``{…}`` parts (``VOLATILE``) differ every time it happens, as request ids, sizes,
    URLs and file names do. ``reason`` set: stored as an error map, as API clients report them."""

    weight: int
    template: str
    reason: str | None = None


#: Realistic failures, by the stage that failed. Each is one failure group on the insights page
#: (``fingerprint_error`` ignores the volatile parts), however many ways it reads.
ERRORS: dict[Stage, list[Cause]] = {
    Stage.SCRIPT: [
        Cause(5, "LLM request timed out after {seconds}s (model gpt-4o, attempt {attempt}/3, request req-{hex})"),
        Cause(3, "OpenAI API error 429: Rate limit reached for gpt-4o in organization org-{hex} on tokens per "
                 "min (TPM): Limit 30000, Used {large}, Requested {small}. Please try again in {millis}ms."),
        Cause(2, "Content policy violation: the model refused the prompt"),
    ],
    Stage.AUDIO: [
        Cause(3, "TTS provider answered 429: quota exceeded (request {hex})"),
        Cause(2, "TTS voice '{voice}' not available for language '{language}' (400 voice_not_found)"),
        Cause(2, "TTS request failed: 503 Service Unavailable from "
                 "https://api.elevenlabs.io/v1/text-to-speech/{uuid} after {attempt} retries"),
    ],
    Stage.KEYWORDS: [
        Cause(3, "LLM returned invalid JSON: Expecting ',' delimiter: line {small} column {small} (char {large})"),
        Cause(1, "Keyword extraction returned no keywords for the script"),
    ],
    Stage.CLIPS: [
        Cause(4, "Clip download failed: 404 Not Found for https://cdn.example.com/stock/{keyword}-{large}.mp4"),
        Cause(2, "Pexels API error 503: Service Unavailable "
                 "(GET https://api.pexels.com/videos/search?query={keyword}&per_page={small})"),
        Cause(2, "Not enough clips: found {small} of {large} needed for {seconds}s of audio"),
    ],
    Stage.BASE_VIDEO: [
        Cause(3, "ffmpeg exited with code 1: Invalid data found when processing input "
                 "'/tmp/render-{hex}/clip-{small}.mp4'"),
        Cause(2, "ffmpeg exited with code 137 (killed: out of memory at {large} MB, pid {large})"),
        Cause(1, "Clip concatenation failed: clip {small} has no video stream"),
    ],
    Stage.FINAL_VIDEO: [
        Cause(2, "ffmpeg exited with code 1: Unable to open 'subtitles-{hex}.ass'"),
        Cause(2, "Upload to CDN failed: 403 Forbidden (SignatureDoesNotMatch) for "
                 "https://cdn.example.com/generations/{generation}/final.mp4?X-Amz-Signature={hex}"),
    ],
    Stage.YOUTUBE: [
        Cause(2, "YouTube upload failed: quotaExceeded (daily upload quota reached)", reason="quotaExceeded"),
        Cause(2, "YouTube API 401: invalid_grant (token of {email} expired at {clock} UTC)", reason="invalid_grant"),
        Cause(1, "YouTube upload failed: uploadLimitExceeded", reason="uploadLimitExceeded"),
    ],
}
_ERROR_WEIGHTS = {stage: list(itertools.accumulate(cause.weight for cause in causes))
                  for stage, causes in ERRORS.items()}
_HEX = "0123456789abcdef"
_CHANNELS = ["studio", "kids-science", "daily-facts", "otters-fan", "cocina", "wissen"]

#: How each volatile part of a message is drawn. Drawn from the run's source only (never from the
#: clock), so a seed gives the same messages whenever it runs.
VOLATILE: dict[str, Callable[[random.Random, str], str]] = {
    # A request id: twelve hex digits, the first a letter (never all digits: a number, not an id).
    "hex": lambda rng, _: rng.choice("abcdef") + "".join(rng.choices(_HEX, k=11)),
    "uuid": lambda rng, _: _uuid(rng),
    "small": lambda rng, _: str(rng.randint(2, 40)),
    "large": lambda rng, _: str(rng.randint(1_000, 99_999)),
    "seconds": lambda rng, _: str(rng.choice([30, 45, 60, 90, 120])),
    "millis": lambda rng, _: str(rng.randint(120, 9_000)),
    "attempt": lambda rng, _: str(rng.randint(1, 5)),
    "voice": lambda rng, _: rng.choice(VOICES),
    "language": lambda rng, _: rng.choice(LANGUAGES)[0],
    "keyword": lambda rng, _: rng.choice(KEYWORDS).replace(" ", "-"),
    "email": lambda rng, _: f"{rng.choice(_CHANNELS)}+{rng.randint(1, 99)}@example.com",
    "clock": lambda rng, _: f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}",
    "generation": lambda _, generation_id: generation_id,
}
_FIELD = re.compile(r"\{(\w+)\}")

#: The burst: one cause failing many generations within one hour of the last day, as when a
#: provider's quota runs out ("is TTS failing for everyone since 14:00?").
BURST_STAGE, BURST_CAUSE = Stage.AUDIO, 0

#: Seconds each stage takes: log-normal, (median, σ of the log). Renders and downloads vary most.
STAGE_SECONDS: dict[Stage, tuple[float, float]] = {
    Stage.INITIAL_PARAMS: (0, 0),
    Stage.SCRIPT: (12, 0.5),
    Stage.AUDIO: (20, 0.45),
    Stage.KEYWORDS: (4, 0.4),
    Stage.CLIPS: (55, 0.6),
    Stage.BASE_VIDEO: (80, 0.5),
    Stage.FINAL_VIDEO: (40, 0.4),
    Stage.YOUTUBE: (25, 0.7),
}
#: Share of stages that took several times longer (retries, a cold worker): the long tail.
_SLOW_SHARE = 0.04

#: Share of each outcome, cumulative: completed, failed, failed in the burst, in progress, the rest stalled.
_COMPLETED, _FAILED, _BURST, _IN_PROGRESS = 0.55, 0.755, 0.767, 0.9
_LAST_WORK_STAGE = STAGES.index(Stage.FINAL_VIDEO)
_SPREAD_SECONDS = SPREAD.total_seconds()
_STALLED_SECONDS = DEFAULT_STALLED_AFTER.total_seconds()
_ID_ALPHABET = string.ascii_letters + string.digits + "-_"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def demo_id(seed: int, index: int) -> str:
    return f"demo-{seed}-{index:06d}"


def burst_start(*, seed: int = 0, now: datetime | None = None) -> datetime:
    """The start of the hour of the burst (``BURST_CAUSE`` of ``BURST_STAGE``): a whole hour of the
    last day, from 3 to 19 hours before ``now``'s hour, depending on the seed."""
    hour = (now or utcnow()).astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    return hour - timedelta(hours=3 + (seed * 7 + 5) % 17)


def demo_generations(count: int, *, seed: int = 0, now: datetime | None = None) -> Iterator[dict[str, Any]]:
    """``count`` stored-form documents: completed, failed at every stage (recurring causes, and a
    burst of one in one hour, see ``burst_start``), in progress and stalled.

    The same ``seed`` and ``now`` give the same documents; times end at ``now`` (default: the clock).
    """
    if count < 0:
        raise ValueError("count must not be negative")
    moment = (now or utcnow()).astimezone(timezone.utc)
    end, burst = moment.timestamp(), burst_start(seed=seed, now=moment).timestamp()
    # One source for the run (seeding one per document costs more than building it); the draws
    # of document n never depend on count, so a longer run starts with the same documents.
    rng = random.Random(seed)
    for index in range(count):
        yield _generation(rng, demo_id(seed, index), end, burst)


def save_demo(storage: GenerationStateStorage, count: int, *, seed: int = 0, now: datetime | None = None,
              batch_size: int = 500) -> None:
    """Save ``demo_generations`` in batches, in constant memory, each with the times it carries."""
    documents = demo_generations(count, seed=seed, now=now)
    while batch := list(itertools.islice(documents, batch_size)):
        storage.save_many(batch, preserve_timestamps=True)


def _generation(rng: random.Random, generation_id: str, end: float, burst: float) -> dict[str, Any]:
    outcome, created = rng.random(), None
    cause: Cause | None = None
    if outcome < _COMPLETED:
        last = len(_PLAN) - 1 if rng.random() < 0.6 else _LAST_WORK_STAGE
        last_update = end - rng.uniform(60, _SPREAD_SECONDS)
    elif outcome < _FAILED:
        last = rng.randint(1, len(_PLAN) - 1)
        cause = rng.choices(ERRORS[STAGES[last]], cum_weights=_ERROR_WEIGHTS[STAGES[last]])[0]
        last_update = end - rng.uniform(60, _SPREAD_SECONDS)
    elif outcome < _BURST:
        last, cause = BURST_STAGE.index, ERRORS[BURST_STAGE][BURST_CAUSE]
        created = burst + rng.uniform(0, 3600)
    elif outcome < _IN_PROGRESS:
        last = rng.randint(0, _LAST_WORK_STAGE - 1)
        last_update = end - rng.uniform(5, _STALLED_SECONDS * 0.6)
    else:
        last = rng.randint(0, _LAST_WORK_STAGE - 1)
        last_update = end - rng.uniform(_STALLED_SECONDS + 120, 3 * 86400)
    plan = _PLAN[: last + 1]
    durations = [_seconds(rng, timing) for _, _, timing in plan]
    # Every stage follows the previous one by its duration: back from the last update, or on from
    # the creation (a burst generation is created within its hour).
    if created is None:
        created = last_update - sum(durations)
    stamps, moment = [], created
    for seconds in durations:
        moment += seconds
        stamps.append(_iso(moment))

    language, _, prompts, sentences = rng.choices(LANGUAGES, cum_weights=_LANGUAGE_WEIGHTS)[0]
    builder = _StageBuilder(rng, generation_id, language, prompts, sentences)
    document: dict[str, Any] = {"generationId": generation_id}
    for name, build, _ in plan:
        document[name] = build(builder)
    if cause is not None:
        document[plan[-1][0]] = {"status": "failed", "error": error_of(cause, rng, generation_id)}
    document["createdAt"] = stamps[0]
    document["updatedAt"] = stamps[-1]
    document["stageTimestamps"] = {name: stamp for (name, _, _), stamp in zip(plan, stamps, strict=True)}
    return document


def _seconds(rng: random.Random, timing: tuple[float, float]) -> float:
    """One stage's duration: log-normal around its median, now and then several times longer."""
    median, sigma = timing
    if not median:
        return 0.0
    seconds = median * math.exp(rng.gauss(0, sigma))
    if rng.random() < _SLOW_SHARE:
        seconds *= rng.uniform(3, 8)
    return max(1.0, seconds)


def _uuid(rng: random.Random) -> str:
    """A version-4 UUID from the run's source (``uuid.uuid4`` would not repeat for a seed)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def error_of(cause: Cause, rng: random.Random, generation_id: str = "demo") -> str | dict[str, Any]:
    """A stage's ``error`` for ``cause``: its message with the volatile parts drawn from ``rng``; an
    error map (message and reason) if the cause has a reason."""
    message = _FIELD.sub(lambda field: VOLATILE[field.group(1)](rng, generation_id), cause.template)
    return {"message": message, "reason": cause.reason} if cause.reason else message


class _StageBuilder:
    """Builds the map of each stage for one generation, sharing its random source and choices."""

    def __init__(self, rng: random.Random, generation_id: str, language: str,
                 prompts: list[str], sentences: list[str]) -> None:
        self.rng = rng
        self.language = language
        self.prompts = prompts
        self.sentences = sentences
        self.media = f"https://cdn.example.com/generations/{generation_id}"
        self.seconds = round(rng.uniform(20, 120), 1)
        self.keywords = _run_of(rng, KEYWORDS, rng.randint(3, 6))

    def _initial_params(self) -> dict[str, Any]:
        rng = self.rng
        return {
            "prompt": rng.choice(self.prompts),
            "language": self.language,
            "options": {
                "aspectRatio": rng.choices(ASPECT_RATIOS, cum_weights=_ASPECT_WEIGHTS)[0],
                "voice": rng.choice(VOICES),
                "targetDurationSeconds": rng.choice([30, 60, 90]),
                "uploadToYoutube": rng.random() < 0.6,
            },
        }

    def _script(self) -> dict[str, Any]:
        rng = self.rng
        sentences = self.sentences
        if rng.random() < 0.05:
            # A few scripts are long (60 to 160 lines): the dashboard must cope with them.
            content = "\n".join(_run_of(rng, sentences, rng.randint(60, 160)))
        else:
            content = "\n".join(_run_of(rng, sentences, rng.randint(3, len(sentences))))
        return {"content": content, "mood": rng.choice(MOODS), "source": "generated"}

    def _audio(self) -> dict[str, Any]:
        return {"url": f"{self.media}/audio.mp3", "duration": self.seconds, "format": "mp3"}

    def _keywords(self) -> dict[str, Any]:
        return {"keywords": list(self.keywords)}

    def _clips(self) -> dict[str, Any]:
        rng = self.rng
        clips = [
            {
                "url": f"https://cdn.example.com/stock/{keyword.replace(' ', '-')}-{int(rng.random() * 9999):04d}.mp4",
                "duration": round(rng.uniform(2.5, 12), 1),
                "keyword": keyword,
            }
            for keyword in self.keywords
        ]
        return {"clips": clips}

    def _base_video(self) -> dict[str, Any]:
        return {"url": f"{self.media}/base.mp4", "duration": self.seconds}

    def _final_video(self) -> dict[str, Any]:
        return {"url": f"{self.media}/final.mp4", "duration": self.seconds, "subtitles": True}

    def _youtube(self) -> dict[str, Any]:
        video_id = "".join(self.rng.choices(_ID_ALPHABET, k=11))
        return {"url": f"https://www.youtube.com/watch?v={video_id}", "videoId": video_id}


def _run_of(rng: random.Random, items: list[str], count: int) -> list[str]:
    """``count`` items in a row from a random start, wrapping around: as varied as a sample
    for demo text, and several times cheaper (this runs 100,000 times for the benchmarks)."""
    start = int(rng.random() * len(items))
    return [items[(start + offset) % len(items)] for offset in range(count)]


#: Per stage, in order: stored name, the builder of its map, how long it takes.
_PLAN: list[tuple[str, Callable[[_StageBuilder], dict[str, Any]], tuple[float, float]]] = [
    (stage.value, getattr(_StageBuilder, f"_{stage.name.lower()}"), STAGE_SECONDS[stage]) for stage in STAGES
]


@functools.lru_cache(maxsize=64)
def _day(day: int) -> str:
    return (_EPOCH + timedelta(days=day)).strftime("%Y-%m-%d")


def _iso(epoch: float) -> str:
    """What ``format_timestamp`` writes, for an epoch time; a datetime per stamp costs too much."""
    millis = int(epoch * 1000)
    day, millis = divmod(millis, 86_400_000)
    seconds, millis = divmod(millis, 1000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return f"{_day(day)}T{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}Z"
