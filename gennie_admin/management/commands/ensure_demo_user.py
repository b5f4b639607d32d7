"""``manage.py ensure_demo_user``: the staff account ``make run`` prints, for a first look on a laptop."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

DEFAULT_USERNAME = "demo"
DEFAULT_PASSWORD = "demo"


class Command(BaseCommand):
    help = (
        "Create (or reset) a staff superuser with a known password for a local first run. "
        "Refused when DEBUG is off: production accounts come from createsuperuser."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default=DEFAULT_USERNAME, help=f"default {DEFAULT_USERNAME!r}")
        parser.add_argument("--password", default=DEFAULT_PASSWORD, help=f"default {DEFAULT_PASSWORD!r}")

    def handle(self, *args: object, username: str, password: str, verbosity: int, **options: object) -> None:
        # A known password is only acceptable on a developer's machine.
        if not settings.DEBUG:
            raise CommandError(
                "ensure_demo_user only runs with DEBUG on; create real accounts with 'manage.py createsuperuser'"
            )
        user, created = get_user_model().objects.get_or_create(username=username)
        user.is_staff = user.is_superuser = user.is_active = True
        user.set_password(password)
        user.save()
        if verbosity >= 1:
            action = "Created" if created else "Reset"
            self.stdout.write(f"{action} demo staff user: username {username!r}, password {password!r}")
