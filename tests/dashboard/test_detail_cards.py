"""The stage cards selector: known fields, unknown keys, clips, chips and links, without Django."""

from __future__ import annotations

from gennie_admin.presentation.stage_cards import Clip, build_cards, other_attributes
from storage_backends import GenerationState, Stage
from tests.factories import completed_stages, make_item


def cards_of(**item) -> dict:
    state = GenerationState.from_item(make_item("gen-1", **item))
    return {card.stage: card for card in build_cards(state)}


def test_one_card_per_present_stage_in_pipeline_order():
    state = GenerationState.from_item(make_item("gen-1", youtube={"url": "https://youtu.be/x"}, **completed_stages()))

    assert [card.stage for card in build_cards(state)] == list(Stage)
    assert [card.label for card in build_cards(state)][:3] == ["Initial params", "Script", "Audio"]


def test_unknown_keys_become_json_rows_and_known_ones_do_not():
    cards = cards_of(script={"content": "Hi", "mood": "calm", "voice": {"name": "Ada"}, "retries": 2})
    script = cards[Stage.SCRIPT]

    assert script.extras == [("voice", '{\n  "name": "Ada"\n}'), ("retries", "2")]
    assert script.data.content == "Hi"


def test_initial_params_options_are_key_value_rows():
    options = cards_of()[Stage.INITIAL_PARAMS].options

    assert options == [("aspectRatio", '"16:9"')]


def test_keywords_become_chips_and_odd_entries_json():
    keywords = cards_of(keywords={"keywords": ["otter", 3, {"w": 1}]})[Stage.KEYWORDS].keywords

    assert keywords == ["otter", "3", '{\n  "w": 1\n}']


def test_clips_keep_every_key_visible():
    clips = cards_of(clips={"clips": [
        {"url": "https://cdn/c.mp4", "duration": 4.5, "query": "otter"},
        "https://cdn/plain.mp4",
        {"url": 7, "duration": "long"},
        42,
    ]})[Stage.CLIPS].clips

    assert clips[0] == Clip(url="https://cdn/c.mp4", duration=4.5, rest='{"query": "otter"}')
    assert clips[1] == Clip(url="https://cdn/plain.mp4", duration=None, rest=None)
    # A url or duration of the wrong type is not dropped: it is shown as JSON.
    assert clips[2] == Clip(url=None, duration=None, rest='{"url": 7, "duration": "long"}')
    assert clips[3] == Clip(url=None, duration=None, rest="42")


def test_youtube_link_from_url_or_video_id():
    assert cards_of(youtube={"url": "https://youtu.be/a"})[Stage.YOUTUBE].link == "https://youtu.be/a"
    assert cards_of(youtube={"videoId": "a b&c"})[Stage.YOUTUBE].link == "https://www.youtube.com/watch?v=a%20b%26c"
    assert cards_of(youtube={"status": "queued"})[Stage.YOUTUBE].link is None


def test_errors_as_text():
    cards = cards_of(audio={"error": "TTS quota"}, script={"status": "failed", "error": {"code": 5}})

    assert cards[Stage.AUDIO].failed and cards[Stage.AUDIO].error == "TTS quota"
    assert cards[Stage.SCRIPT].error == '{\n  "code": 5\n}'
    assert not cards[Stage.INITIAL_PARAMS].failed and cards[Stage.INITIAL_PARAMS].error is None


def test_other_top_level_attributes():
    state = GenerationState.from_item(make_item("gen-1", userId="u-1", flags=[1, 2]))

    assert other_attributes(state) == [("userId", '"u-1"'), ("flags", "[\n  1,\n  2\n]")]
