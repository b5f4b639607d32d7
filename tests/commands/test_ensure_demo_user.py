"""``manage.py ensure_demo_user``: the first-run account, and only with DEBUG on."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.management.base import CommandError

from .conftest import run

pytestmark = pytest.mark.django_db


def test_creates_a_staff_superuser_and_prints_the_credentials(settings):
    settings.DEBUG = True
    out, _ = run("ensure_demo_user")
    assert out == "Created demo staff user: username 'demo', password 'demo'\n"
    user = authenticate(username="demo", password="demo")
    assert user is not None and user.is_staff and user.is_superuser


def test_resets_an_existing_one(settings):
    settings.DEBUG = True
    User.objects.create_user("demo", password="something-else", is_staff=False)
    out, _ = run("ensure_demo_user")
    assert out.startswith("Reset demo staff user")
    assert User.objects.filter(username="demo").count() == 1
    user = authenticate(username="demo", password="demo")
    assert user is not None and user.is_staff


def test_username_and_password_can_be_chosen(settings):
    settings.DEBUG = True
    run("ensure_demo_user", "--username", "alice", "--password", "s3cret")
    assert authenticate(username="alice", password="s3cret") is not None


def test_refused_when_debug_is_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="only runs with DEBUG on; create real accounts with 'manage.py create"):
        run("ensure_demo_user")
    assert not User.objects.exists()
