"""The library without Django: in a process where ``import django`` fails, every module of
``storage_backends`` imports, and it stores, lists, seeds demo data, migrates and verifies.

The child process blocks ``django`` before importing anything else and records every attempt,
so a module that imports Django fails to import there, and one that merely tries (inside
``try``/``except ImportError``) is named all the same.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]

#: The modules the design promises a pipeline worker can use alone; the child imports every other
#: module of the package too.
PROMISED = [
    "storage_backends",
    "storage_backends.backends.memory",
    "storage_backends.backends.file",
    "storage_backends.backends.sqlite",
    "storage_backends.backends.dynamodb",
    "storage_backends.migration",
    "storage_backends.demo",
]

#: Run with ``python -c``; the modules to import are its arguments. Prints one JSON object.
CHILD = textwrap.dedent("""
    import sys

    attempts = []


    class NoDjango:
        '''Refuses ``django`` and ``django.*``, remembering who asked.'''

        def find_spec(self, name, path=None, target=None):
            if name == "django" or name.startswith("django."):
                attempts.append(name)
                raise ImportError(f"{name} is blocked: the library must work without Django")
            return None


    assert "django" not in sys.modules, "django was loaded before the blocker"
    sys.meta_path.insert(0, NoDjango())
    try:
        import django  # noqa: F401
    except ImportError:
        pass
    else:
        raise SystemExit("the blocker let django through")
    attempts.clear()

    import importlib
    import json
    import pkgutil
    import tempfile
    from datetime import datetime, timezone

    imported = [importlib.import_module(name).__name__ for name in sys.argv[1:]]
    import storage_backends

    for module in pkgutil.walk_packages(storage_backends.__path__, "storage_backends."):
        imported.append(importlib.import_module(module.name).__name__)

    from storage_backends import StorageFactory
    from storage_backends.demo import save_demo
    from storage_backends.migration import migrate, verify

    memory = StorageFactory.create_storage({"type": "memory"})
    memory.save({"generationId": "from-a-worker", "initialParams": {"prompt": "Otters", "language": "en"}})
    listed = [state.generation_id for state in memory.list_generations().items]
    save_demo(memory, 40, now=datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc))
    with tempfile.TemporaryDirectory() as directory:
        with StorageFactory.from_url(f"file://{directory}") as files:
            copied = migrate(memory, files, batch_size=7)
            checked = verify(memory, files, batch_size=7)
            in_files = sorted(state.generation_id for state in files.iter_generations())
    print(json.dumps({
        "imported": sorted(set(imported)),
        "listed": listed,
        "in_memory": memory.get_metrics().active_generations,
        "copied": copied.copied,
        "failed": copied.failed.count,
        "checked": checked.checked,
        "differences": checked.differences.count,
        "same_ids": in_files == sorted(state.generation_id for state in memory.iter_generations()),
        "django_attempts": attempts,
        "django_loaded": sorted(name for name in sys.modules if name == "django" or name.startswith("django.")),
    }))
""")


def run_child(*modules: str, extra_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``CHILD`` in a fresh interpreter at the project root, Django settings unset, the project root
    (and ``extra_path``) its only PYTHONPATH."""
    env = {name: value for name, value in os.environ.items() if name not in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH")}
    env["PYTHONPATH"] = os.pathsep.join(str(path) for path in (PROJECT_ROOT, extra_path) if path)
    return subprocess.run([sys.executable, "-c", CHILD, *modules], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_library_imports_stores_seeds_and_migrates_where_django_cannot_be_imported():
    child = run_child(*PROMISED)
    assert child.returncode == 0, child.stderr
    result = json.loads(child.stdout)
    assert set(PROMISED) <= set(result["imported"])
    assert {"storage_backends.backends.dynamodb.backend", "storage_backends.prefetch"} <= set(result["imported"])
    assert result["listed"] == ["from-a-worker"]
    assert result["in_memory"] == 41
    assert (result["copied"], result["failed"]) == (41, 0)
    assert (result["checked"], result["differences"]) == (41, 0)
    assert result["same_ids"] is True
    assert result["django_attempts"] == [] and result["django_loaded"] == []


def test_the_check_fails_a_module_that_imports_django(tmp_path):
    (tmp_path / "wants_django.py").write_text("import django\n")
    child = run_child("wants_django", extra_path=tmp_path)
    assert child.returncode != 0
    assert "ImportError: django is blocked" in child.stderr


def test_the_check_names_a_module_that_only_tries_django(tmp_path):
    (tmp_path / "tries_django.py").write_text("try:\n    import django.conf\nexcept ImportError:\n    pass\n")
    child = run_child("tries_django", extra_path=tmp_path)
    assert child.returncode == 0, child.stderr
    assert json.loads(child.stdout)["django_attempts"] == ["django"]
