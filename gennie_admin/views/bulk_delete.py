"""Bulk delete from the list: ``/bulk-delete/``, a preview, then the deletion (POST + CSRF).

Only users with ``gennie_admin.delete_generation`` may use it (others: 403; anonymous: login).

1. The list's form POSTs either the ticked ids (``scope=selected``: ``id`` per row, or
   ``page_all`` with the page's ``page_id``s, which works without JavaScript) or the list's
   filters (``scope=filtered``: the export's parameters, ``parse_export_params``). A GET
   with the filters previews a filtered set too; neither changes anything.
2. The preview counts the set (selected ids that still exist; for filters, walking
   ``list_summaries`` pages of ``PAGE_SIZE`` up to ``MAX_PER_REQUEST`` + 1), shows the first
   ``PREVIEW_ROWS`` and asks for the count to be typed. More than ``MAX_PER_REQUEST`` is
   refused (``manage.py cleanup``, or narrower filters).
3. The preview embeds the ids it counted in a token signed with ``django.core.signing``
   (bound to the user, valid ``TOKEN_MAX_AGE`` seconds). The deletion POST deletes exactly
   those ids, so what was previewed and counted is what goes: generations created since then
   are not touched; ones that vanished since are counted "already gone", not errors. The
   ids go in batches to ``storage.delete_many`` (see ``delete_ids``); a storage error on one
   id is reported with its id and the others go on. A request stops deleting after
   ``TIME_BUDGET_SECONDS`` (before gunicorn's 30 s timeout) and says how many were not
   attempted. One audit entry (``bulk_delete``) records the ids deleted, the filters (for a
   filtered set) and the count.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.core import signing
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from storage_backends import (
    StorageCorruptDocumentError,
    StorageError,
    StorageNotFoundError,
    StorageValidationError,
)
from storage_backends.models import utcnow
from storage_backends.summaries import summarize

from ..access import permission_required
from ..audit import record
from ..export import pages
from ..forms import ListParams, parse_export_params
from ..models import DELETE_PERMISSION
from ..selectors import GenerationRow, stalled_after
from ..storage import get_storage

logger = logging.getLogger("gennie_admin.audit")

TEMPLATE = "generations/bulk_delete_confirm.html"
#: The most generations one request may delete; more is refused (see ``manage.py cleanup``).
MAX_PER_REQUEST = 10_000
#: Rows per storage call when counting a filtered set (``ListQuery``'s largest page).
PAGE_SIZE = 500
#: Rows the preview shows.
PREVIEW_ROWS = 20
#: Ids per ``storage.delete_many`` call.
BATCH_SIZE = 500
#: Batches deleted at once, at most (and never more than the storage's ``write_concurrency``).
MAX_CONCURRENT_BATCHES = 8
#: Seconds a request may spend deleting (gunicorn kills a worker at 30 s); what is left is reported, not attempted.
TIME_BUDGET_SECONDS = 20.0
#: How long a preview may be confirmed, in seconds.
TOKEN_MAX_AGE = 3600
#: Ids named in the message about ids that could not be deleted.
FAILED_IDS_SHOWN = 20
SALT = "gennie_admin.bulk_delete"
SCOPE_SELECTED, SCOPE_FILTERED = "selected", "filtered"


class TooMany(Exception):
    """The set is larger than ``MAX_PER_REQUEST``."""


@require_http_methods(["GET", "POST"])
@permission_required(DELETE_PERMISSION)
def bulk_delete(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and "token" in request.POST:
        return _confirm(request)
    data = request.POST if request.method == "POST" else request.GET
    if request.method == "GET" or data.get("scope") == SCOPE_FILTERED:
        return _preview_filtered(request, data)
    return _preview_selected(request, data)


# ---- the preview ----------------------------------------------------------------------------------------------


def _preview_selected(request: HttpRequest, data: QueryDict) -> HttpResponse:
    chosen = data.getlist("page_id") if data.get("page_all") else data.getlist("id")
    wanted = list(dict.fromkeys(generation_id for generation_id in chosen if generation_id))
    if not wanted:
        messages.warning(request, "No generation was selected: tick the rows to delete, or choose all on this page.")
        return redirect(data.get("next") if _safe_list_url(data.get("next")) else "generations:list")
    if len(wanted) > MAX_PER_REQUEST:
        return _refuse_too_many(request, f"more than {MAX_PER_REQUEST:,}")
    storage = get_storage()
    ids, gone = [], 0
    for generation_id in wanted:
        try:
            exists = storage.exists(generation_id)
        except StorageValidationError:
            exists = False  # an impossible id names nothing
        if exists:
            ids.append(generation_id)
        else:
            gone += 1
    return _render_preview(request, ids, filters=None, gone=gone, back=data.get("next"))


def _preview_filtered(request: HttpRequest, data: QueryDict) -> HttpResponse:
    params, problems = parse_export_params(data)
    if problems:
        context = {"problems": problems, "max_per_request": MAX_PER_REQUEST}
        return render(request, TEMPLATE, context, status=400)
    try:
        ids = matching_ids(params)
    except TooMany:
        return _refuse_too_many(request, f"more than {MAX_PER_REQUEST:,}", params=params)
    return _render_preview(request, ids, filters=params.filter_params, back=params.url())


def matching_ids(params: ListParams, *, limit: int | None = None) -> list[str]:
    """The ids of every generation ``params`` filters to, in the list's order; ``TooMany`` past ``limit``."""
    limit = MAX_PER_REQUEST if limit is None else limit
    query = params.to_query(now=utcnow(), stalled_after=stalled_after()).model_copy(
        update={"cursor": None, "limit": PAGE_SIZE})
    found: dict[str, None] = {}  # an exact id hit may come again on a later page
    for page in pages(get_storage().list_summaries, query):
        for summary in page:
            found[summary.generation_id] = None
            if len(found) > limit:
                raise TooMany
    return list(found)


def _refuse_too_many(request: HttpRequest, how_many: str, *, params: ListParams | None = None) -> HttpResponse:
    context = {"too_many": how_many, "max_per_request": MAX_PER_REQUEST, "params": params,
               "back": params.url() if params else reverse("generations:list")}
    return render(request, TEMPLATE, context, status=400)


def _render_preview(request: HttpRequest, ids: list[str], *, filters: dict[str, str] | None, gone: int = 0,
                    back: str | None = None, error: str = "", status: int = 200) -> HttpResponse:
    token = signing.dumps({"ids": ids, "filters": filters, "user": request.user.pk}, salt=SALT, compress=True)
    context: dict[str, Any] = {
        "count": len(ids), "rows": preview_rows(ids[:PREVIEW_ROWS]), "more": max(0, len(ids) - PREVIEW_ROWS),
        "filters": filters, "gone": gone, "token": token, "error": error,
        "back": back if _safe_list_url(back) else reverse("generations:list"), "max_per_request": MAX_PER_REQUEST,
    }
    return render(request, TEMPLATE, context, status=status)


def preview_rows(ids: list[str]) -> list[tuple[str, GenerationRow | None]]:
    """Each id with its row as the list shows it; ``None`` for one gone or unreadable since."""
    storage, at, threshold = get_storage(), utcnow(), stalled_after()
    rows = []
    for generation_id in ids:
        try:
            row = GenerationRow.of(summarize(storage.get(generation_id), at=at, stalled_after=threshold))
        except (StorageNotFoundError, StorageCorruptDocumentError, StorageValidationError):
            row = None
        rows.append((generation_id, row))
    return rows


def _safe_list_url(url: str | None) -> bool:
    """Only the list's own URL (with its parameters) is a place to go back to."""
    return bool(url) and (url == reverse("generations:list") or url.startswith(reverse("generations:list") + "?"))


# ---- the deletion ---------------------------------------------------------------------------------------------


def _confirm(request: HttpRequest) -> HttpResponse:
    try:
        payload = signing.loads(request.POST["token"], salt=SALT, max_age=TOKEN_MAX_AGE)
    except signing.SignatureExpired:
        return _bad_token(request, "This preview has expired. Select the generations again to see a fresh one.")
    except signing.BadSignature:
        return _bad_token(request, "This confirmation could not be read. Select the generations again.")
    if not isinstance(payload, dict) or payload.get("user") != request.user.pk:
        return _bad_token(request, "This confirmation was made for someone else. Select the generations again.")
    ids: list[str] = [str(generation_id) for generation_id in payload.get("ids", [])]
    filters = payload.get("filters")
    back = request.POST.get("next")
    if len(ids) > MAX_PER_REQUEST:
        return _refuse_too_many(request, f"{len(ids):,}")
    typed = (request.POST.get("confirm_count") or "").replace(",", "").replace(" ", "").strip()
    if typed != str(len(ids)):
        error = (f"Type the number of generations to delete, {len(ids)}, to confirm."
                 if typed else f"Type {len(ids)} to confirm the deletion.")
        return _render_preview(request, ids, filters=filters, back=back, error=error, status=400)
    deleted, gone, failed, left = delete_ids(ids)
    logger.info("bulk delete by %s: %d deleted, %d already gone, %d failed, %d not attempted",
                request.user.get_username(), len(deleted), gone, len(failed), left)
    record(request, "bulk_delete", generation_ids=deleted, filters=filters, count=len(deleted),
           detail=f"{len(ids)} confirmed: {len(deleted)} deleted, {gone} already gone, {len(failed)} failed"
           + (f" ({', '.join(failed[:FAILED_IDS_SHOWN])})" if failed else "")
           + (f", {left} not attempted (time budget)" if left else ""))
    _report(request, deleted, gone, failed, left)
    return redirect(back if _safe_list_url(back) else "generations:list")


def delete_ids(ids: list[str]) -> tuple[list[str], int, list[str], int]:
    """Delete the ids within ``TIME_BUDGET_SECONDS``: (ids deleted, how many were already gone, ids
    that failed, how many were not attempted because time ran out).

    ``storage.delete_many`` takes ``BATCH_SIZE`` at a time (SQLite: a statement; DynamoDB: batch
    reads and writes), up to the storage's ``write_concurrency`` batches at once (8 on DynamoDB,
    where each waits on the network; 1 on SQLite and files, whose writes take turns anyway). A
    batch the storage refuses is tried again one id at a time, so the id at fault is named and the
    others still go."""
    storage = get_storage()
    deadline = time.monotonic() + TIME_BUDGET_SECONDS

    def attempt(batch: list[str]) -> Outcome:
        if time.monotonic() > deadline:
            return Outcome(not_attempted=len(batch))
        try:
            deleted = storage.delete_many(batch)
        except StorageError:
            return _one_by_one(storage, batch)
        return Outcome(deleted=deleted, gone=len(batch) - len(deleted))

    batches = [ids[start:start + BATCH_SIZE] for start in range(0, len(ids), BATCH_SIZE)]
    workers = max(1, min(MAX_CONCURRENT_BATCHES, storage.write_concurrency))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bulk-delete") as pool:
        outcomes = list(pool.map(attempt, batches))
    return ([generation_id for outcome in outcomes for generation_id in outcome.deleted],
            sum(outcome.gone for outcome in outcomes),
            [generation_id for outcome in outcomes for generation_id in outcome.failed],
            sum(outcome.not_attempted for outcome in outcomes))


@dataclass
class Outcome:
    """What became of one batch."""

    deleted: list[str] = field(default_factory=list)
    gone: int = 0
    failed: list[str] = field(default_factory=list)
    not_attempted: int = 0


def _one_by_one(storage: Any, batch: list[str]) -> Outcome:
    outcome = Outcome()
    for generation_id in batch:
        try:
            if storage.delete(generation_id):
                outcome.deleted.append(generation_id)
            else:
                outcome.gone += 1
        except StorageValidationError:
            outcome.gone += 1  # an impossible id names nothing that could be deleted
        except StorageError as exc:
            logger.warning("bulk delete: %r could not be deleted: %s: %s", generation_id, type(exc).__name__, exc)
            outcome.failed.append(generation_id)
    return outcome


def _report(request: HttpRequest, deleted: list[str], gone: int, failed: list[str], left: int = 0) -> None:
    text = f"Deleted {len(deleted):,} generation{'' if len(deleted) == 1 else 's'}."
    if gone:
        text += f" {gone:,} {'was' if gone == 1 else 'were'} already gone."
    messages.success(request, text)
    if failed:
        shown = ", ".join(failed[:FAILED_IDS_SHOWN])
        more = f" and {len(failed) - FAILED_IDS_SHOWN:,} more" if len(failed) > FAILED_IDS_SHOWN else ""
        messages.error(request, f"{len(failed):,} could not be deleted (storage error): {shown}{more}.")
    if left:
        messages.warning(request, f"Stopped after {TIME_BUDGET_SECONDS:g} s: {left:,} were not attempted. "
                                  "Select them again (they are still listed) to delete the rest.")


def _bad_token(request: HttpRequest, error: str) -> HttpResponse:
    return render(request, TEMPLATE, {"token_error": error, "back": reverse("generations:list"),
                                      "max_per_request": MAX_PER_REQUEST}, status=400)
