"""The gennie_admin application: registers the storage system checks at start-up."""

from __future__ import annotations

from django.apps import AppConfig
from django.core import checks


class GennieAdminConfig(AppConfig):
    name = "gennie_admin"
    verbose_name = "Gennie Admin"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .checks import check_storage_setting

        checks.register(check_storage_setting)
