"""Failure groups: ``fingerprint_error``, ``describe_error``, ``error_message`` and ``failure_of``.

One cause, one group: the volatile parts of a message (ids, numbers, URLs' paths, quoted values,
e-mails, times) never split a group, and different causes (or stages) never share one.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from storage_backends import GenerationState, Stage
from storage_backends.fingerprints import describe_error, error_message, failure_of, fingerprint_error

from ..factories import completed_stages, make_item

FINGERPRINT = re.compile(r"[a-zA-Z]+-[0-9a-f]{12}")
TTS_429 = "TTS provider answered 429: quota exceeded (request 7f3a9c)"

# -- the pairs ------------------------------------------------------------------------


def test_one_cause_with_two_request_ids_is_one_group():
    assert fingerprint_error("audio", TTS_429) == fingerprint_error(
        "audio", "TTS provider answered 429: quota exceeded (request 0b12ee)")


def test_two_causes_are_two_groups():
    assert fingerprint_error("baseVideo", "ffmpeg exited with code 137") != fingerprint_error("baseVideo", TTS_429)
    assert fingerprint_error("audio", "ffmpeg exited with code 137") != fingerprint_error("audio", TTS_429)


def test_the_same_message_at_two_stages_is_two_groups():
    fingerprints = {fingerprint_error(stage, TTS_429) for stage in Stage}
    assert len(fingerprints) == len(Stage)


def test_a_stage_or_its_name_give_the_same_fingerprint():
    for stage in Stage:
        assert fingerprint_error(stage, TTS_429) == fingerprint_error(stage.value, TTS_429)


# -- volatile parts ---------------------------------------------------------------------------

SAME_CAUSE = {
    "hex request ids": (TTS_429, "TTS provider answered 429: quota exceeded (request 0B12EE44)"),
    "0x addresses": ("segfault at 0x7ffd5e8c in libavcodec", "segfault at 0x0000000a in libavcodec"),
    "long hex ids": ("Upload failed, Request ID: 7F3A9C0B12EE4D", "Upload failed, Request ID: 9a8b7c6d5e4f3a21"),
    "numbers": ("Not enough clips: found 3 of 8 needed for 60s of audio",
                "Not enough clips: found 11 of 24 needed for 180s of audio"),
    "decimals and versions": ("ffprobe 6.1.1 reported a duration of 12.5 s",
                              "ffprobe 7.0 reported a duration of 3.25 s"),
    "numbers inside identifiers": ("worker-12 lost its lease", "worker-7 lost its lease"),
    "uuids": ("generation 123e4567-e89b-12d3-a456-426614174000 not found",
              "generation 9F1C2B3A-0D4E-4F5A-8B6C-7D8E9F0A1B2C not found"),
    "single-quoted values": ("Unable to open 'subtitles-1.ass'", "Unable to open 'intro clip (final).ass'"),
    "double-quoted values": ('Unknown voice "alloy" for language "en"', 'Unknown voice "nova" for language "ja"'),
    "backquoted values": ("column `clip_7` is missing", "column `duration` is missing"),
    "url paths": ("Clip download failed: 404 Not Found for https://cdn.example.com/stock/ocean-0417.mp4",
                  "Clip download failed: 404 Not Found for https://cdn.example.com/stock/forest-night-2.mp4"),
    "url queries": ("GET https://api.pexels.com/videos/search?query=otters&page=2 timed out",
                    "GET https://api.pexels.com/v1/search?query=night+sky timed out"),
    "bare hosts and trailing slashes": ("cannot reach https://api.elevenlabs.io", "cannot reach https://api.elevenlabs.io/"),
    "s3 keys": ("NoSuchKey: s3://gennie-media/generations/g-1/audio.mp3",
                "NoSuchKey: s3://gennie-media/generations/g-99/final.mp4"),
    "e-mail addresses": ("Mail to bob@example.com bounced", "Mail to alice.smith+ops@mail.example.co.uk bounced"),
    "iso timestamps": ("Token expired at 2026-01-01T12:00:00Z", "Token expired at 2026-11-26T08:15:42.123+02:00"),
    "iso timestamps with a space": ("Token expired at 2026-01-01 12:00:00", "Token expired at 2025-06-30 23:59:59.999"),
    "clock times": ("Render started 12:00:01, gave up", "Render started 23:59:59.5, gave up"),
    "whitespace": ("ffmpeg exited with code 1:\n  Invalid data found",
                   "ffmpeg exited with code 1: Invalid data found "),
}


@pytest.mark.parametrize("first, second", SAME_CAUSE.values(), ids=SAME_CAUSE.keys())
def test_volatile_parts_do_not_split_a_group(first, second):
    assert describe_error(first) == describe_error(second)
    assert fingerprint_error("clips", first) == fingerprint_error("clips", second)


@pytest.mark.parametrize("first, second", SAME_CAUSE.values(), ids=SAME_CAUSE.keys())
def test_what_varies_is_not_in_the_readable_message(first, second):
    """The placeholders replace the volatile parts: the group's name shows none of them."""
    words = set(re.findall(r"[\w.+@:-]+", first)) ^ set(re.findall(r"[\w.+@:-]+", second))
    described = describe_error(first)
    assert not [word for word in words if len(word) > 2 and word in described]


def test_the_host_of_a_url_is_kept():
    ocean = "Clip download failed for https://cdn.example.com/stock/ocean-0417.mp4"
    other_host = "Clip download failed for https://media.example.org/stock/ocean-0417.mp4"
    assert fingerprint_error("clips", ocean) != fingerprint_error("clips", other_host)
    assert "cdn.example.com" in describe_error(ocean) and "ocean" not in describe_error(ocean)


def test_readable_messages_name_their_placeholders():
    assert describe_error(TTS_429) == "TTS provider answered <n>: quota exceeded (request <n>)"
    assert describe_error("Unable to open 'subtitles-1.ass' at 2026-01-01T12:00:00Z") == (
        "Unable to open <value> at <time>")
    assert describe_error("GET https://api.pexels.com/videos/search?query=otters failed for bob@example.com") == (
        "GET https://api.pexels.com/<path> failed for <email>")
    assert describe_error("job 123e4567-e89b-12d3-a456-426614174000 at 0x7ffd") == "job <uuid> at <n>"
    # Words made of hex letters stay words.
    assert describe_error("decade facade: bad feed") == "decade facade: bad feed"


# -- different causes -------------------------------------------------------------------------

#: Realistic, genuinely different failures (as the pipeline reports them), with their stage.
DISTINCT = [
    (Stage.SCRIPT, "LLM request timed out after 60s (model gpt-4o, attempt 3/3)"),
    (Stage.SCRIPT, "Content policy violation: the model refused the prompt"),
    (Stage.AUDIO, TTS_429),
    (Stage.AUDIO, "TTS voice not available for this language (400 voice_not_found)"),
    (Stage.KEYWORDS, "LLM returned invalid JSON: Expecting ',' delimiter: line 1 column 87 (char 86)"),
    (Stage.KEYWORDS, "Keyword extraction returned no keywords for the script"),
    (Stage.CLIPS, "Clip download failed: 404 Not Found for https://cdn.example.com/stock/ocean-0417.mp4"),
    (Stage.CLIPS, "Pexels API error 503: Service Unavailable"),
    (Stage.BASE_VIDEO, "ffmpeg exited with code 137 (killed: out of memory)"),
    (Stage.BASE_VIDEO, "ffmpeg exited with code 1: Invalid data found when processing input"),
    (Stage.FINAL_VIDEO, "Upload to CDN failed: 403 Forbidden (SignatureDoesNotMatch)"),
    (Stage.YOUTUBE, "YouTube API 401: invalid_grant (token expired or revoked)"),
]


def test_genuinely_different_causes_get_different_fingerprints():
    assert len({fingerprint_error(stage, message) for stage, message in DISTINCT}) == len(DISTINCT)
    # By their message alone too, at one stage.
    assert len({fingerprint_error(Stage.AUDIO, message) for _, message in DISTINCT}) == len(DISTINCT)
    assert len({describe_error(message) for _, message in DISTINCT}) == len(DISTINCT)


def test_one_fingerprint_for_one_stage_and_readable_message():
    """Fingerprints are equal exactly when the stage and the readable message are."""
    cases = [(stage, message) for stage, message in DISTINCT]
    cases += [(Stage.CLIPS, message) for pair in SAME_CAUSE.values() for message in pair]
    for (stage_a, a), (stage_b, b) in itertools.combinations(cases, 2):
        same_group = (stage_a, describe_error(a)) == (stage_b, describe_error(b))
        assert (fingerprint_error(stage_a, a) == fingerprint_error(stage_b, b)) is same_group, (a, b)


# -- error maps -------------------------------------------------------------------------------


def test_an_error_map_is_grouped_by_its_message():
    as_map = {"message": TTS_429, "code": 429, "provider": "elevenlabs"}
    other_details = {"message": "TTS provider answered 429: quota exceeded (request 0b12ee)", "code": 429, "retry": 3}
    assert fingerprint_error("audio", as_map) == fingerprint_error("audio", TTS_429)
    assert fingerprint_error("audio", other_details) == fingerprint_error("audio", TTS_429)
    assert describe_error(as_map) == describe_error(TTS_429)


def test_other_maps_are_grouped_by_their_json_whatever_the_key_order():
    first = {"code": 429, "provider": "elevenlabs", "detail": {"kind": "quota", "limit": 10000}}
    second = {"detail": {"limit": 10000, "kind": "quota"}, "provider": "elevenlabs", "code": 429}
    assert error_message(first) == error_message(second)
    assert fingerprint_error("audio", first) == fingerprint_error("audio", second)
    # A map with an empty or non-text message is one of those.
    assert error_message({"message": "", "code": 1}) == '{"code": 1, "message": ""}'
    assert error_message({"message": {"text": "x"}}) == '{"message": {"text": "x"}}'


def test_error_message_is_the_error_as_text():
    assert error_message("boom") == "boom"
    assert error_message({"message": "TTS quota", "code": 429}) == "TTS quota"
    assert error_message({"b": "é", "a": 1}) == '{"a": 1, "b": "é"}'
    assert error_message(["a", 2]) == '["a", 2]'
    for nothing in (None, "", {}):
        assert error_message(nothing) is None
    assert describe_error(None) == ""


# -- the key itself ---------------------------------------------------------------------------


@pytest.mark.parametrize("stage", list(Stage), ids=str)
def test_fingerprints_are_short_url_safe_and_name_their_stage(stage):
    for error in (TTS_429, None, "", {"code": 1}, "é ü 日本 <script>&?#/%", "x" * 10_000):
        fingerprint = fingerprint_error(stage, error)
        assert FINGERPRINT.fullmatch(fingerprint), fingerprint
        assert fingerprint.startswith(f"{stage.value}-")
        assert quote(fingerprint, safe="") == fingerprint


def test_fingerprints_are_the_same_in_another_process():
    """A pure function of its input (no ``hash()``, no per-process salt): the same in every process."""
    cases = [(stage.value, message) for stage, message in DISTINCT]
    script = ("import json, sys; from storage_backends.fingerprints import fingerprint_error as f; "
              "print(json.dumps([f(s, m) for s, m in json.load(sys.stdin)]))")
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-c", script], input=json.dumps(cases), capture_output=True, text=True,
                         env=env, cwd=root, check=True).stdout
    assert json.loads(out) == [fingerprint_error(stage, message) for stage, message in cases]


def test_a_known_fingerprint_does_not_change():
    """A regression guard: stored fingerprints (SQLite's column, DynamoDB's rollups, URLs people
    shared) stay valid only while the normalization and the hash stay the same."""
    assert fingerprint_error("audio", TTS_429) == "audio-9c01498406d2"


# -- a document's failure ---------------------------------------------------------------------


def state(**stages):
    return GenerationState.from_item(make_item("g1", **stages))


def test_failure_of_a_document_that_did_not_fail_is_none():
    assert failure_of(state()) is None
    assert failure_of(state(**completed_stages())) is None
    # No error and no failed status: not a failure.
    assert failure_of(state(script={"content": "x", "error": ""}, audio={"error": {}, "status": "done"})) is None


def test_failure_of_is_the_first_failed_stage():
    document = state(script={"content": "x"}, audio={"status": "failed", "error": TTS_429},
                     clips={"status": "failed", "error": "Pexels API error 503"})
    assert failure_of(document) == fingerprint_error(Stage.AUDIO, TTS_429)


def test_failure_of_an_error_without_a_status_or_a_status_without_an_error():
    assert failure_of(state(audio={"error": {"message": TTS_429}})) == fingerprint_error(Stage.AUDIO, TTS_429)
    without_error = failure_of(state(clips={"status": "failed"}))
    assert without_error == fingerprint_error(Stage.CLIPS, None) == fingerprint_error(Stage.CLIPS, "")
    assert without_error != failure_of(state(audio={"status": "failed"}))


# -- what an earlier normalization got wrong ---------------------------------------------------

CORRECTED = {
    # A map without a message keeps its keys: only its values are normalized.
    "maps without a message keep their keys": (
        ("audio", {"error": "quota exceeded"}), ("audio", {"detail": "voice not found"}), False),
    # Token edges are letters and digits, not \b: OpenAI/Stripe-style ids (req_…) do not split a group.
    "ids after an underscore": (
        ("script", "OpenAI error 500 (request id req_7f3a9c0b12ee44aa)"),
        ("script", "OpenAI error 500 (request id req_0b12ee7f3a9c44ab)"), True),
    # An apostrophe inside a word opens no quoted value.
    "contractions and quoted values": (
        ("finalVideo", "Couldn't open 'subtitles-1.ass'"), ("finalVideo", "Couldn't open 'intro.ass'"), True),
    "contractions do not merge causes": (
        ("clips", "Clip isn't ready: the file doesn't exist"), ("clips", "Clip isn't allowed: the user doesn't exist"),
        False),
    # Hex ids and numbers share one placeholder: a random id is sometimes all digits.
    "all-digit hex ids": (("audio", "TTS 429 (request 7f3a9c)"), ("audio", "TTS 429 (request 120394)"), True),
    "short hex ids": (("audio", "TTS 429 (request 7f3a)"), ("audio", "TTS 429 (request 0b12)"), True),
    # HTTP dates (Retry-After, S3's RequestTimeTooSkewed) are times.
    "http dates": (("audio", "Retry after Mon, 01 Jun 2026 12:00:00 GMT"),
                   ("audio", "Retry after Tue, 02 Jun 2026 12:00:00 GMT"), True),
}


@pytest.mark.parametrize("first, second, same", CORRECTED.values(), ids=CORRECTED.keys())
def test_normalization_corrections(first, second, same):
    assert (fingerprint_error(*first) == fingerprint_error(*second)) is same


def test_a_long_message_is_normalized_in_linear_time():
    # The e-mail rule once backtracked quadratically over long dotted runs; only the start counts now.
    started = time.perf_counter()
    describe_error("x@" + "a-" * 20_000)
    assert time.perf_counter() - started < 1.0

