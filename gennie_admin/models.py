"""Django models of the dashboard: a holder for its permissions, notes and the audit log.

Generations live in the storage backend, not in Django's database, so ``Generation`` is
unmanaged (no table). It exists so that ``gennie_admin.delete_generation`` and
``gennie_admin.export_generations`` are real permissions that can be granted to a user or a
group in the usual way.

Notes and audit entries do live in Django's database (``DATABASE_URL``), keyed by the
generation id as text, so they work with every storage backend and outlive the generation.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from storage_backends.documents import MAX_ID_BYTES

DELETE_PERMISSION = "gennie_admin.delete_generation"
EXPORT_PERMISSION = "gennie_admin.export_generations"
VIEW_AUDIT_PERMISSION = "gennie_admin.view_auditentry"

#: The longest note, in characters.
NOTE_MAX_LENGTH = 2000


class Generation(models.Model):
    class Meta:
        managed = False
        # Only the permissions the dashboard checks, not Django's add/change/view/delete set.
        default_permissions = ()
        permissions = [
            ("delete_generation", "Can delete generations from the storage"),
            ("export_generations", "Can export generations"),
        ]


class GenerationNote(models.Model):
    """A staff member's plain-text note on one generation (which may no longer exist)."""

    generation_id = models.CharField(max_length=MAX_ID_BYTES, db_index=True)
    # The author's name is kept as text too, so a note outlives its author's account.
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="generation_notes")
    author_name = models.CharField(max_length=150)
    text = models.TextField(max_length=NOTE_MAX_LENGTH)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # Notes are added and removed (both audited), never edited.
        default_permissions = ()

    def __str__(self) -> str:
        return f"note {self.pk} on {self.generation_id!r} by {self.author_name}"


class AuditEntry(models.Model):
    """One recorded action: who, when, what (ids, or filters and a count), from where.

    Written by ``gennie_admin.audit.record`` only; the dashboard has no view that changes or
    removes an entry. The generation ids are stored twice: as a JSON list for display, and
    one ``AuditTarget`` row each so "the history of generation X" is an indexed lookup on
    every database (a JSON ``contains`` lookup is not available on SQLite).
    """

    class Action(models.TextChoices):
        DELETE = "delete", "Delete"
        BULK_DELETE = "bulk_delete", "Bulk delete"
        EXPORT = "export", "Export"
        NOTE_ADDED = "note_added", "Note added"
        NOTE_REMOVED = "note_removed", "Note removed"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="audit_entries")
    username = models.CharField(max_length=150, db_index=True)
    action = models.CharField(max_length=20, choices=Action.choices, db_index=True)
    generation_ids = models.JSONField(default=list, blank=True)
    filters = models.JSONField(null=True, blank=True)
    count = models.PositiveIntegerField(null=True, blank=True)
    address = models.GenericIPAddressField(null=True, blank=True)
    detail = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        # Entries are only ever viewed: no add/change/delete permissions to grant.
        default_permissions = ("view",)
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.action} by {self.username} at {self.created_at:%Y-%m-%d %H:%M:%S}"


class AuditTarget(models.Model):
    """One generation an audit entry is about: the index behind each generation's history."""

    entry = models.ForeignKey(AuditEntry, on_delete=models.CASCADE, related_name="targets")
    generation_id = models.CharField(max_length=MAX_ID_BYTES)

    class Meta:
        default_permissions = ()
        indexes = [models.Index(fields=["generation_id", "entry"], name="gennie_audit_target_gen_idx")]
        constraints = [models.UniqueConstraint(fields=["entry", "generation_id"], name="gennie_audit_target_unique")]
