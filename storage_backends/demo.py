"""Realistic demo generations, deterministic for a seed.

Framework-free on purpose: ``manage.py seed_demo`` and the storage benchmarks both use it.
Each document is built from its own seeded random source, so document ``n`` is the same
whatever ``count`` is, and ids (``demo-<seed>-<n>``) make a re-run replace, never duplicate.
"""

from __future__ import annotations

import functools
import itertools
import random
import string
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

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

#: Realistic failure messages, by the stage that failed.
ERRORS: dict[Stage, list[str]] = {
    Stage.SCRIPT: [
        "LLM request timed out after 60s (model gpt-4o, attempt 3/3)",
        "OpenAI API error 429: Rate limit reached for requests per minute",
        "Content policy violation: the model refused the prompt",
    ],
    Stage.AUDIO: [
        "TTS quota exceeded: monthly character limit reached (ElevenLabs 429 quota_exceeded)",
        "TTS voice not available for this language (400 voice_not_found)",
        "TTS request failed: 503 Service Unavailable after 5 retries",
    ],
    Stage.KEYWORDS: [
        "LLM returned invalid JSON: Expecting ',' delimiter: line 1 column 87 (char 86)",
        "Keyword extraction returned no keywords for the script",
    ],
    Stage.CLIPS: [
        "Clip download failed: 404 Not Found for https://cdn.example.com/stock/ocean-0417.mp4",
        "Pexels API error 503: Service Unavailable",
        "Not enough clips: found 3 of 8 needed for 60s of audio",
    ],
    Stage.BASE_VIDEO: [
        "ffmpeg exited with code 1: Invalid data found when processing input",
        "ffmpeg exited with code 137 (killed: out of memory)",
        "Clip concatenation failed: clip 4 has no video stream",
    ],
    Stage.FINAL_VIDEO: [
        "ffmpeg exited with code 1: Unable to open subtitles.ass",
        "Upload to CDN failed: 403 Forbidden (SignatureDoesNotMatch)",
    ],
    Stage.YOUTUBE: [
        "YouTube upload failed: quotaExceeded (daily upload quota reached)",
        "YouTube API 401: invalid_grant (token expired or revoked)",
        "YouTube upload failed: uploadLimitExceeded",
    ],
}

#: Seconds each stage typically takes, (low, high).
STAGE_SECONDS: dict[Stage, tuple[float, float]] = {
    Stage.INITIAL_PARAMS: (0, 0),
    Stage.SCRIPT: (4, 40),
    Stage.AUDIO: (8, 60),
    Stage.KEYWORDS: (2, 10),
    Stage.CLIPS: (20, 150),
    Stage.BASE_VIDEO: (30, 200),
    Stage.FINAL_VIDEO: (20, 90),
    Stage.YOUTUBE: (10, 60),
}

#: Share of each outcome, cumulative: completed, failed, in progress, the rest stalled.
_COMPLETED, _FAILED, _IN_PROGRESS = 0.55, 0.77, 0.9
_LAST_WORK_STAGE = STAGES.index(Stage.FINAL_VIDEO)
_SPREAD_SECONDS = SPREAD.total_seconds()
_STALLED_SECONDS = DEFAULT_STALLED_AFTER.total_seconds()
_ID_ALPHABET = string.ascii_letters + string.digits + "-_"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def demo_id(seed: int, index: int) -> str:
    return f"demo-{seed}-{index:06d}"


def demo_generations(count: int, *, seed: int = 0, now: datetime | None = None) -> Iterator[dict[str, Any]]:
    """``count`` stored-form documents: completed, failed at every stage, in progress and stalled.

    The same ``seed`` and ``now`` give the same documents; times end at ``now`` (default: the clock).
    """
    if count < 0:
        raise ValueError("count must not be negative")
    end = (now or utcnow()).astimezone(timezone.utc).timestamp()
    # One source for the run (seeding one per document costs more than building it); the draws
    # of document n never depend on count, so a longer run starts with the same documents.
    rng = random.Random(seed)
    for index in range(count):
        yield _generation(rng, demo_id(seed, index), end)


def save_demo(storage: GenerationStateStorage, count: int, *, seed: int = 0, now: datetime | None = None,
              batch_size: int = 500) -> None:
    """Save ``demo_generations`` in batches, in constant memory, each with the times it carries."""
    documents = demo_generations(count, seed=seed, now=now)
    while batch := list(itertools.islice(documents, batch_size)):
        storage.save_many(batch, preserve_timestamps=True)


def _generation(rng: random.Random, generation_id: str, end: float) -> dict[str, Any]:
    outcome = rng.random()
    if outcome < _COMPLETED:
        last = len(_PLAN) - 1 if rng.random() < 0.6 else _LAST_WORK_STAGE
        failed, last_update = False, end - rng.uniform(60, _SPREAD_SECONDS)
    elif outcome < _FAILED:
        last = rng.randint(1, len(_PLAN) - 1)
        failed, last_update = True, end - rng.uniform(60, _SPREAD_SECONDS)
    elif outcome < _IN_PROGRESS:
        last = rng.randint(0, _LAST_WORK_STAGE - 1)
        failed, last_update = False, end - rng.uniform(5, _STALLED_SECONDS * 0.6)
    else:
        last = rng.randint(0, _LAST_WORK_STAGE - 1)
        failed, last_update = False, end - rng.uniform(_STALLED_SECONDS + 120, 3 * 86400)
    plan = _PLAN[: last + 1]
    # Walk back from the last update so every stage follows the previous one.
    stamps, moment = [], last_update
    for _, _, (low, high) in reversed(plan):
        stamps.append(_iso(moment))
        moment -= rng.uniform(low, high)
    stamps.reverse()

    language, _, prompts, sentences = rng.choices(LANGUAGES, cum_weights=_LANGUAGE_WEIGHTS)[0]
    builder = _StageBuilder(rng, generation_id, language, prompts, sentences)
    document: dict[str, Any] = {"generationId": generation_id}
    for name, build, _ in plan:
        document[name] = build(builder)
    if failed:
        name = plan[-1][0]
        document[name] = {"status": "failed", "error": rng.choice(ERRORS[Stage(name)])}
    document["createdAt"] = stamps[0]
    document["updatedAt"] = stamps[-1]
    document["stageTimestamps"] = {name: stamp for (name, _, _), stamp in zip(plan, stamps, strict=True)}
    return document


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
