"""Expressions with every attribute name and value aliased.

Stage maps hold DynamoDB reserved words (``status``, ``url``, ``duration``, ``name``…), so no
name is ever written into an expression as is: each one becomes ``#nN`` and each value ``:vN``.
"""

from __future__ import annotations

from typing import Any

from .items import to_attribute_value


class Expression:
    """Collects the aliases of one request's expressions (condition, update, filter, key, projection)."""

    def __init__(self) -> None:
        self._aliases: dict[str, str] = {}  # attribute name -> alias
        self._values: dict[str, dict[str, Any]] = {}
        self._value_aliases: dict[str, str] = {}  # repr of the attribute value -> alias

    def name(self, *path: str) -> str:
        """An aliased document path, e.g. ``name("stageTimestamps", "script")`` -> ``#n0.#n1``."""
        return ".".join(self._aliases.setdefault(part, f"#n{len(self._aliases)}") for part in path)

    def value(self, value: Any) -> str:
        """An aliased value; the same value used twice shares one alias."""
        attribute = to_attribute_value(value)
        key = repr(attribute)
        if key not in self._value_aliases:
            self._value_aliases[key] = f":v{len(self._value_aliases)}"
            self._values[self._value_aliases[key]] = attribute
        return self._value_aliases[key]

    def params(self) -> dict[str, Any]:
        """The ``ExpressionAttributeNames`` / ``ExpressionAttributeValues`` request parameters."""
        params: dict[str, Any] = {}
        if self._aliases:
            params["ExpressionAttributeNames"] = {alias: name for name, alias in self._aliases.items()}
        if self._values:
            params["ExpressionAttributeValues"] = dict(self._values)
        return params


def projection(expression: Expression, *names: str) -> str:
    return ", ".join(expression.name(name) for name in names)
