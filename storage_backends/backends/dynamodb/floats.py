"""Floats without a fraction keep their type through DynamoDB's number normalization.

DynamoDB stores numbers normalized: ``2.0`` is sent as ``"2.0"`` and comes back as ``"2"``, so
it would read back as the int ``2``. For each top-level attribute that holds such floats, the
item carries ``_gennieFloats:<attribute>``, the paths to them, and reading turns those numbers
back into floats. One hint per attribute lets ``update`` set or remove it with the attribute.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .index import PREFIX

HINT_PREFIX = f"{PREFIX}Floats:"
Path = list[str | int]


def float_hints(item: Mapping[str, Any]) -> dict[str, list[Path]]:
    """The hint attribute of every top-level attribute that holds a float without a fraction."""
    return {hint_name(name): paths for name, value in item.items() if (paths := whole_float_paths(value))}


def hint_name(attribute: str) -> str:
    return f"{HINT_PREFIX}{attribute}"


def whole_float_paths(value: Any, path: Path | None = None) -> list[Path]:
    path = path or []
    if isinstance(value, float) and value.is_integer():
        return [path]
    if isinstance(value, Mapping):
        return [found for key, element in value.items() for found in whole_float_paths(element, [*path, key])]
    if isinstance(value, list | tuple):
        return [found for index, element in enumerate(value) for found in whole_float_paths(element, [*path, index])]
    return []


def restore_floats(item: dict[str, Any]) -> dict[str, Any]:
    """Turn the numbers the hints point at back into floats (a hint that no longer fits is ignored)."""
    for name, paths in list(item.items()):
        attribute = name[len(HINT_PREFIX):]
        if name.startswith(HINT_PREFIX) and attribute in item and isinstance(paths, list):
            for path in paths:
                if isinstance(path, list):
                    _restore(item, [attribute, *path])
    return item


def _restore(container: Any, path: Path) -> None:
    *parents, last = path
    for step in parents:
        container = _child(container, step)
    value = _child(container, last)
    if isinstance(value, int) and not isinstance(value, bool):
        container[last] = float(value)


def _child(container: Any, step: str | int) -> Any:
    if isinstance(container, dict) and step in container:
        return container[step]
    if isinstance(container, list) and isinstance(step, int) and 0 <= step < len(container):
        return container[step]
    return None
