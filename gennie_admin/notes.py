"""Notes on generations: staff's plain-text remarks, kept in Django's database.

Notes are keyed by generation id, not tied to a storage backend, so they work with every
backend and stay when the generation is deleted from the storage (each one is also in the
audit log, its text included). Adding and removing are audited; nothing edits a note.
"""

from __future__ import annotations

from collections.abc import Iterable

from django import forms
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.http import HttpRequest

from . import audit
from .models import NOTE_MAX_LENGTH, GenerationNote

#: The most notes the detail page shows (newest first); older ones stay in the database.
NOTES_SHOWN = 200


class NoteTextField(forms.CharField):
    """Line breaks count as one character each, as the browser's ``maxlength`` counts them
    (a form submits them as CRLF)."""

    def to_python(self, value: object) -> str:
        return super().to_python(value).replace("\r\n", "\n").replace("\r", "\n")


class NoteForm(forms.Form):
    text = NoteTextField(
        label="Add a note", max_length=NOTE_MAX_LENGTH, strip=True,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "required": "Write something: a note cannot be empty.",
            "null_characters_not_allowed": "A note cannot hold control characters.",
            "max_length": f"A note holds at most {NOTE_MAX_LENGTH:,} characters (this one has %(show_value)d).",
        },
        help_text=f"Plain text, up to {NOTE_MAX_LENGTH:,} characters. Every staff member can read it.",
    )

    def clean_text(self) -> str:
        text = self.cleaned_data["text"]
        # NUL cannot be stored by PostgreSQL; other control characters (but tab and newlines) only
        # hide text. Refused rather than silently dropped, so what is saved is what was typed.
        if any(ord(char) < 32 and char not in "\t\r\n" for char in text):
            raise forms.ValidationError("A note cannot hold control characters.")
        return text


def notes_for(generation_id: str) -> list[GenerationNote]:
    """The generation's notes, newest first (at most ``NOTES_SHOWN``)."""
    return list(GenerationNote.objects.filter(generation_id=generation_id).order_by("-created_at", "-id")[:NOTES_SHOWN])


def ids_with_notes(generation_ids: Iterable[str]) -> set[str]:
    """Which of these generations have at least one note: one query, whatever their number."""
    ids = set(generation_ids)
    if not ids:
        return set()
    return set(GenerationNote.objects.filter(generation_id__in=ids).values_list("generation_id", flat=True).distinct())


def may_remove(user: AbstractBaseUser | AnonymousUser, note: GenerationNote) -> bool:
    """Only a note's author, or a superuser, may remove it."""
    if not (user.is_authenticated and user.is_active):
        return False
    return bool(getattr(user, "is_superuser", False)) or (note.author_id is not None and note.author_id == user.pk)


def add_note(request: HttpRequest, *, generation_id: str, text: str) -> GenerationNote:
    """Save a note by the request's user and record it in the audit log (text included)."""
    with transaction.atomic():
        note = GenerationNote.objects.create(
            generation_id=generation_id, author=request.user, author_name=request.user.get_username(), text=text
        )
        audit.record(request, "note_added", generation_ids=[generation_id], detail=text)
    return note


def remove_note(request: HttpRequest, *, note: GenerationNote) -> None:
    """Delete a note and record it in the audit log, with the text it had and its author."""
    with transaction.atomic():
        detail = f"note by {note.author_name} of {note.created_at:%Y-%m-%d %H:%M} UTC: {note.text}"
        generation_id = note.generation_id
        note.delete()
        audit.record(request, "note_removed", generation_ids=[generation_id], detail=detail)
