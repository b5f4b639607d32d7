"""Django models of the dashboard: only a holder for its permissions.

Generations live in the storage backend, not in Django's database, so the model is
unmanaged (no table). It exists so that ``gennie_admin.delete_generation`` is a real
permission that can be granted to a user or a group in the usual way.
"""

from __future__ import annotations

from django.db import models

DELETE_PERMISSION = "gennie_admin.delete_generation"


class Generation(models.Model):
    class Meta:
        managed = False
        # Only the permissions the dashboard checks, not Django's add/change/view/delete set.
        default_permissions = ()
        permissions = [("delete_generation", "Can delete generations from the storage")]
