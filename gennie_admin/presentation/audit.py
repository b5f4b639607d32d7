"""What an audit entry shows on /audit/ and in a generation's history, computed without templates."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.http import urlencode

from ..audit import PARAM_GENERATION
from ..models import AuditEntry
from ..templatetags.list_tags import detail_url

#: Ids named per entry; the rest are counted ("and 9,995 more").
IDS_SHOWN = 5
#: Characters of an entry's detail (a note's text, say) shown before "Show all".
DETAIL_CHARS = 300


@dataclass(frozen=True)
class EntryRow:
    entry: AuditEntry
    #: (id, its detail page URL or "" for an id no URL can carry), at most ``IDS_SHOWN`` of them.
    targets: list[tuple[str, str]]
    more_targets: int

    @property
    def long_detail(self) -> bool:
        return len(self.entry.detail) > DETAIL_CHARS

    @property
    def short_detail(self) -> str:
        detail = self.entry.detail
        return detail if len(detail) <= DETAIL_CHARS else detail[: DETAIL_CHARS - 1].rstrip() + "…"


def entry_rows(entries: Iterable[AuditEntry]) -> list[EntryRow]:
    prefix, urlconf = get_script_prefix(), get_urlconf()
    rows = []
    for entry in entries:
        ids = entry.generation_ids or []
        targets = [(str(generation_id), detail_url(prefix, urlconf, str(generation_id)) or "")
                   for generation_id in ids[:IDS_SHOWN]]
        rows.append(EntryRow(entry=entry, targets=targets, more_targets=max(len(ids) - IDS_SHOWN, 0)))
    return rows


def history_url(generation_id: str) -> str:
    """The audit log filtered on one generation."""
    return f"{reverse('audit')}?{urlencode({PARAM_GENERATION: generation_id})}"
