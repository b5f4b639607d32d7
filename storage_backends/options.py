"""Checked conversion of backend options.

Options arrive as Python values from a config mapping or as strings from a URL query or the
environment (``?max_attempts=5&create=false``), so each is converted here with an error that
names the option and the value.
"""

from __future__ import annotations

from .errors import StorageInitializationError

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def as_text(name: str, value: object, *, optional: bool = True) -> str | None:
    if value is None or value == "":
        if optional:
            return None
        raise StorageInitializationError(f"option {name} must not be empty")
    if not isinstance(value, str):
        raise StorageInitializationError(f"option {name} must be a string, got {value!r}")
    return value


def as_number(name: str, value: object, *, minimum: float) -> float:
    number = _convert(name, value, float, "a number")
    if not number >= minimum:  # also refuses NaN
        raise StorageInitializationError(f"option {name} must be at least {minimum:g}, got {value!r}")
    return number


def as_count(name: str, value: object, *, minimum: int) -> int:
    if isinstance(value, float):
        if not value.is_integer():
            raise StorageInitializationError(f"option {name} must be a whole number, got {value!r}")
        value = int(value)
    count = _convert(name, value, int, "a whole number")
    if count < minimum:
        raise StorageInitializationError(f"option {name} must be at least {minimum}, got {value!r}")
    return count


def as_flag(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise StorageInitializationError(f"option {name} must be true or false, got {value!r}")


def _convert(name: str, value: object, kind: type, description: str):
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise StorageInitializationError(f"option {name} must be {description}, got {value!r}")
    try:
        return kind(value.strip() if isinstance(value, str) else value)
    except ValueError as exc:
        raise StorageInitializationError(f"option {name} must be {description}, got {value!r}") from exc
