"""Keep the garbage collector's full passes short in a serving process.

After its first request a dashboard process holds about 110,000 long-lived objects (Django,
the storage's client with botocore's service model, compiled templates). A full collection
walks all of them, about 65 ms on this machine, and as requests allocate, one such pass lands on
some request every minute or so: the worst of 300 list requests in ``bench/dynamodb_scale.py``
came at the same moments in every run, over 4× the median. So once the first request is done,
the objects then alive go to the collector's permanent generation (``gc.freeze()``, after one
collection), and later full passes walk only what came since. ``gennie_admin/wsgi.py`` (what
gunicorn and ``runserver`` load) switches it on; tests' servers do not.
"""

from __future__ import annotations

import gc
from typing import Any

from django.core.signals import request_finished


def freeze_after_first_request() -> None:
    """Freeze what is alive once the process's first request has finished (sent, not waiting)."""
    request_finished.connect(_freeze, dispatch_uid=__name__)


def _freeze(**_: Any) -> None:
    # Two first requests finishing at once both freeze: harmless, the second moves little.
    request_finished.disconnect(dispatch_uid=__name__)
    gc.collect()  # what the first request left as garbage is not kept for good
    gc.freeze()
