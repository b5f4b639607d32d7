"""WSGI entry point for gunicorn: ``gunicorn gennie_admin.wsgi``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gennie_admin.settings")
application = get_wsgi_application()

from .gc_freeze import freeze_after_first_request  # noqa: E402  (Django is set up above)

freeze_after_first_request()
