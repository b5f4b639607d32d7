"""What the detail page shows for each stage map: known fields, clips, chips and the unknown keys.

Framework-free: the template only renders these values (and escapes them); whether a URL
may become a link is decided there, by the ``safe_url`` filter.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from storage_backends import GenerationState, Stage
from storage_backends.models import StageData

from .labels import STAGE_LABELS

#: Unknown keys and their values, pretty-printed as JSON.
KeyValues = list[tuple[str, str]]

#: The template that renders each stage's known fields (audio and the videos share one).
BODY_TEMPLATES: dict[Stage, str] = {
    Stage.INITIAL_PARAMS: "generations/stages/params.html",
    Stage.SCRIPT: "generations/stages/script.html",
    Stage.AUDIO: "generations/stages/media.html",
    Stage.KEYWORDS: "generations/stages/keywords.html",
    Stage.CLIPS: "generations/stages/clips.html",
    Stage.BASE_VIDEO: "generations/stages/media.html",
    Stage.FINAL_VIDEO: "generations/stages/media.html",
    Stage.YOUTUBE: "generations/stages/youtube.html",
}


@dataclass(frozen=True)
class Clip:
    url: str | None
    duration: float | None
    #: The clip's other keys as one line of JSON (or the whole clip when it is not a map).
    rest: str | None


@dataclass(frozen=True)
class StageCard:
    stage: Stage
    label: str
    data: StageData
    error: str | None
    extras: KeyValues
    #: Initial params' options, as key/value rows.
    options: KeyValues
    keywords: list[str]
    clips: list[Clip]
    #: The YouTube link: the stored URL, or one made from the video id.
    link: str | None

    @property
    def failed(self) -> bool:
        return self.data.failed

    @property
    def body_template(self) -> str:
        return BODY_TEMPLATES[self.stage]

    @property
    def clips_seconds(self) -> float:
        return sum(clip.duration for clip in self.clips if clip.duration is not None)


def build_cards(state: GenerationState) -> list[StageCard]:
    """One card per stage present, in pipeline order."""
    return [_card(stage, data) for stage, data in state.stages()]


def other_attributes(state: GenerationState) -> KeyValues:
    """Top-level attributes no stage owns (written by other producers), kept and shown as JSON."""
    return key_values(state.model_extra or {})


def key_values(mapping: dict[str, Any]) -> KeyValues:
    return [(str(key), as_json(value)) for key, value in mapping.items()]


def as_json(value: Any, *, compact: bool = False) -> str:
    """A value as JSON for display, pretty-printed or on one line (escaping is the template's job)."""
    return json.dumps(value, ensure_ascii=False, indent=None if compact else 2, default=str)


def error_text(data: StageData | None) -> str | None:
    """A stage's error as text (JSON when it is not a string); None when there is none."""
    if data is None or not data.has_error:
        return None
    return data.error if isinstance(data.error, str) else as_json(data.error)


def _card(stage: Stage, data: StageData) -> StageCard:
    fields = data.model_dump(exclude_unset=True, exclude=set(data.model_extra or ()))
    return StageCard(
        stage=stage,
        label=STAGE_LABELS[stage],
        data=data,
        error=error_text(data),
        extras=key_values(data.model_extra or {}),
        options=key_values(fields.get("options") or {}),
        keywords=[item if isinstance(item, str) else as_json(item) for item in fields.get("keywords") or []],
        clips=[_clip(item) for item in fields.get("clips") or []],
        link=_youtube_link(fields) if stage is Stage.YOUTUBE else None,
    )


def _clip(item: Any) -> Clip:
    if isinstance(item, str):
        return Clip(url=item, duration=None, rest=None)
    if not isinstance(item, dict):
        return Clip(url=None, duration=None, rest=as_json(item, compact=True))
    url, duration = item.get("url"), item.get("duration")
    url = url if isinstance(url, str) else None
    duration = duration if isinstance(duration, int | float) and not isinstance(duration, bool) else None
    # Whatever is not shown as the link or the duration is shown as JSON, so nothing is hidden.
    shown = {key for key, value in (("url", url), ("duration", duration)) if value is not None}
    rest = {key: value for key, value in item.items() if key not in shown}
    return Clip(url=url, duration=duration, rest=as_json(rest, compact=True) if rest else None)


def _youtube_link(fields: dict[str, Any]) -> str | None:
    if fields.get("url"):
        return fields["url"]
    video_id = fields.get("video_id")
    return f"https://www.youtube.com/watch?v={quote(video_id, safe='')}" if video_id else None
