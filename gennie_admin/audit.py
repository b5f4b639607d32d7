"""The audit log: who did what to which generations, when and from where.

``record`` is the one way entries are written (deletes, bulk deletes, exports, notes). Each
entry is a row in Django's database (``DATABASE_URL``: ``AuditEntry`` plus one
``AuditTarget`` per generation id) and the same line on the ``gennie_admin.audit`` logger.

The client address is ``REMOTE_ADDR``. ``X-Forwarded-For`` is never read: any client can
send it, and the dashboard has no setting that vouches for a proxy rewriting it
(``USE_X_FORWARDED_PROTO`` vouches for the protocol header only). Behind a reverse proxy the
address recorded is therefore the proxy's, unless the server in front of Django sets
``REMOTE_ADDR`` from a header it trusts.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Mapping, Sequence

from django import forms
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, QueryDict

from storage_backends.documents import MAX_ID_BYTES, validate_id
from storage_backends.errors import StorageValidationError

from .models import AuditEntry, AuditTarget

logger = logging.getLogger("gennie_admin.audit")

#: The actions an entry may record.
ACTIONS = frozenset(AuditEntry.Action.values)
#: How many ids a log line names before it says "and N more" (the database keeps them all).
LOG_IDS_SHOWN = 20
#: The username stored for an action without a request (a management command).
COMMAND_LINE_USER = "(command line)"


def record(
    request: HttpRequest | None,
    action: str,
    *,
    generation_ids: Sequence[str] = (),
    filters: Mapping[str, str] | None = None,
    count: int | None = None,
    detail: str = "",
) -> AuditEntry:
    """Store one audit entry and log it; returns the saved entry.

    ``action`` is one of ``ACTIONS`` (anything else is a programming error: ``ValueError``).
    ``generation_ids`` are the generations acted on (duplicates are stored once);
    ``filters`` and ``count`` describe a bulk action or an export (a filter whose value is
    ``None`` is left out; exports pass filters and a count, not the ids). ``request`` may be
    ``None`` for a management command: the entry then has no user and no address.
    The log line is written before the row, so it exists even if the database write fails
    (which then raises: an audit entry is never dropped silently).
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; expected one of {sorted(ACTIONS)}")
    if isinstance(generation_ids, str):
        raise TypeError("generation_ids must be a sequence of ids, not one string")
    ids = list(dict.fromkeys(storable_id(str(generation_id)) for generation_id in generation_ids))
    filters_dict = None
    if filters is not None:
        filters_dict = {_text(key): _text(value) for key, value in filters.items() if value is not None}
    detail = _text(detail)
    if count is not None and count < 0:
        raise ValueError("count cannot be negative")
    user, username = _who(request)
    address = client_address(request) if request is not None else None

    logger.info("%s", _log_line(action, username, address, ids, filters_dict, count, detail))
    with transaction.atomic():
        entry = AuditEntry.objects.create(
            user=user, username=username, action=action, generation_ids=ids,
            filters=filters_dict, count=count, address=address, detail=detail,
        )
        AuditTarget.objects.bulk_create(
            [AuditTarget(entry=entry, generation_id=generation_id) for generation_id in ids], batch_size=500
        )
    return entry


def storable_id(generation_id: str) -> str:
    """The id itself when it is a valid generation id; an impossible one (too long, control
    characters) as its ``ascii()`` form cut to the column's size, quotes included, so it can
    never be mistaken for a real id and every database can store it."""
    try:
        return validate_id(generation_id)
    except StorageValidationError:
        return ascii(generation_id)[:MAX_ID_BYTES]


def _text(value: object) -> str:
    # PostgreSQL's text and jsonb cannot hold NUL.
    return str(value).replace("\x00", "\ufffd")


def client_address(request: HttpRequest) -> str | None:
    """The client's IP address: ``REMOTE_ADDR`` if it is one (see the module docstring)."""
    remote = (request.META.get("REMOTE_ADDR") or "").strip()
    try:
        return str(ipaddress.ip_address(remote))
    except ValueError:
        return None  # a Unix socket, or a test client without an address


def _who(request: HttpRequest | None):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None, COMMAND_LINE_USER if request is None else "(anonymous)"
    return user, user.get_username()


def _log_line(action: str, username: str, address: str | None, ids: list[str],
              filters: dict[str, str] | None, count: int | None, detail: str) -> str:
    # JSON and repr() escape newlines and control characters: an id or a filter cannot
    # forge a second log line.
    parts = [f"audit {action} by {username!r} from {address or '-'}"]
    if ids:
        shown = json.dumps(ids[:LOG_IDS_SHOWN], ensure_ascii=True)
        more = f" and {len(ids) - LOG_IDS_SHOWN} more" if len(ids) > LOG_IDS_SHOWN else ""
        parts.append(f"ids={shown}{more}")
    if filters is not None:
        parts.append(f"filters={json.dumps(filters, ensure_ascii=True, sort_keys=True)}")
    if count is not None:
        parts.append(f"count={count}")
    if detail:
        parts.append(f"detail={detail!r}")
    return " ".join(parts)


# ---- reading the log ------------------------------------------------------------------

PARAM_USER, PARAM_ACTION, PARAM_GENERATION, PARAM_PAGE = "user", "action", "generation", "page"
#: Entries per page of /audit/, and on a detail page's history.
PAGE_SIZE = 50
HISTORY_SHOWN = 20


class AuditFilterForm(forms.Form):
    """The /audit/ filters (GET). A bad value is dropped and reported, never a failure."""

    user = forms.CharField(label="User", required=False, max_length=150,
                           widget=forms.TextInput(attrs={"list": "audit-usernames", "autocomplete": "off"}))
    action = forms.ChoiceField(label="Action", required=False, choices=[("", "Any action"), *AuditEntry.Action.choices])
    generation = forms.CharField(label="Generation id", required=False, max_length=MAX_ID_BYTES, strip=False)

    def clean_generation(self) -> str:
        generation_id = self.cleaned_data["generation"]
        if generation_id:
            try:
                validate_id(generation_id)
            except StorageValidationError as exc:
                raise forms.ValidationError(str(exc)) from None
        return generation_id


def parse_audit_filters(data: QueryDict) -> tuple[dict[str, str], list[str]]:
    """The valid filters among ``data`` (``user``, ``action``, ``generation``) and a line per bad one."""
    form = AuditFilterForm(data)
    form.is_valid()
    filters = {name: value for name, value in form.cleaned_data.items() if value}
    problems = [f"{form.fields[name].label}: {' '.join(errors)}" for name, errors in form.errors.items()]
    return filters, problems


def audit_entries(*, user: str = "", action: str = "", generation: str = "") -> QuerySet[AuditEntry]:
    """Entries newest first, narrowed by username (exact), action and generation id."""
    entries = AuditEntry.objects.all()
    if user:
        entries = entries.filter(username=user)
    if action:
        entries = entries.filter(action=action)
    if generation:
        # Through AuditTarget's index; (entry, generation id) is unique, so no duplicates.
        entries = entries.filter(targets__generation_id=generation)
    return entries.order_by("-created_at", "-id")


def history_for(generation_id: str, *, limit: int = HISTORY_SHOWN) -> list[AuditEntry]:
    """The newest ``limit`` entries about one generation (its notes, deletion, exports naming it)."""
    return list(audit_entries(generation=generation_id)[:limit])


def known_usernames(limit: int = 200) -> list[str]:
    """Usernames seen in the log, for the user filter's suggestions."""
    return list(AuditEntry.objects.order_by("username").values_list("username", flat=True).distinct()[:limit])
