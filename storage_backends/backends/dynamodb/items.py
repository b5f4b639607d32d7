"""Python values to DynamoDB attribute values and back, within the service's limits.

Numbers travel as decimal strings: a float is written as ``Decimal(str(x))`` (its shortest
repr, so ``0.1`` stays ``0.1``) and read back as a float when it has a fraction or exponent,
else as an int (``floats`` keeps ``2.0`` a float). DynamoDB refuses NaN, Infinity,
more than 38 significant digits and items over 400 KB; those are refused here first, with the
value or the size in the message.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ...errors import StorageValidationError

MAX_ITEM_BYTES = 400 * 1024
MAX_DIGITS = 38
#: DynamoDB's number range: positive magnitudes from 1E-130 to under 1E+126.
_MIN_EXPONENT, _MAX_EXPONENT = -130, 125

AttributeValue = dict[str, Any]
#: Ints below this magnitude have at most 38 digits: sent as they are, without the checks.
_SMALL_INT = 10**MAX_DIGITS


def to_attribute_value(value: Any) -> AttributeValue:
    """The low-level (client) form of a JSON-like Python value."""
    # The common types first, by exact type (a migration converts every value of every item).
    kind = type(value)
    if kind is str:
        return {"S": value}
    if kind is dict:
        return {"M": to_item_values(value)}
    if kind is int and -_SMALL_INT < value < _SMALL_INT:
        return {"N": str(value)}
    if kind is list:
        return {"L": [to_attribute_value(element) for element in value]}
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):  # before int: bool is an int subclass
        return {"BOOL": value}
    if isinstance(value, int | float | Decimal):
        return {"N": number_text(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bytes | bytearray):
        return {"B": bytes(value)}
    if isinstance(value, Mapping):
        return {"M": to_item_values(value)}
    if isinstance(value, list | tuple):
        return {"L": [to_attribute_value(element) for element in value]}
    if isinstance(value, set | frozenset):
        return _set_value(value)
    raise StorageValidationError(f"DynamoDB cannot store a value of type {type(value).__name__}: {value!r}")


def to_item_values(item: Mapping[str, Any]) -> dict[str, AttributeValue]:
    for key in item:
        if not isinstance(key, str) or not key:
            raise StorageValidationError(f"attribute names must be non-empty strings, got {key!r}")
    return {key: to_attribute_value(value) for key, value in item.items()}


def from_attribute_value(value: AttributeValue) -> Any:
    ((kind, data),) = value.items()
    if kind == "M":
        return from_item_values(data)
    if kind == "L":
        return [from_attribute_value(element) for element in data]
    if kind == "N":
        return _number(data)
    if kind == "NS":
        return {_number(element) for element in data}
    if kind in ("SS", "BS"):
        return set(data)
    if kind == "NULL":
        return None
    return data  # S, B, BOOL


def from_item_values(item: Mapping[str, AttributeValue]) -> dict[str, Any]:
    return {key: from_attribute_value(value) for key, value in item.items()}


def number_text(value: int | float | Decimal) -> str:
    """The decimal text DynamoDB is sent for a number, after checking its limits."""
    if isinstance(value, float) and not math.isfinite(value):
        raise StorageValidationError(f"DynamoDB cannot store {value!r} (NaN and Infinity are not numbers there)")
    number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        raise StorageValidationError(f"DynamoDB cannot store {value!r} (NaN and Infinity are not numbers there)")
    digits = _significant_digits(number)
    if digits > MAX_DIGITS:
        raise StorageValidationError(
            f"number {value!r} has {digits} significant digits; DynamoDB keeps at most {MAX_DIGITS}"
        )
    if number and not _MIN_EXPONENT <= number.adjusted() <= _MAX_EXPONENT:
        raise StorageValidationError(f"number {value!r} is outside DynamoDB's range (1E-130 to 9.9E+125)")
    return str(number)


def item_size(item: Mapping[str, AttributeValue]) -> int:
    """DynamoDB's size of an item in bytes: attribute names plus values, as AWS documents it."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def check_item_size(what: str, item: Mapping[str, AttributeValue]) -> None:
    """Refuse an item (or the changes to one, named by ``what``) over DynamoDB's 400 KB."""
    size = item_size(item)
    if size > MAX_ITEM_BYTES:
        raise StorageValidationError(f"{what} is {size:,} bytes; a DynamoDB item holds at most {MAX_ITEM_BYTES:,}")


def _value_size(value: AttributeValue) -> int:
    ((kind, data),) = value.items()
    if kind == "S":
        return len(data.encode("utf-8", "surrogatepass"))
    if kind == "N":
        return _number_size(data)
    if kind == "B":
        return len(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(element.encode("utf-8", "surrogatepass")) for element in data)
    if kind == "NS":
        return sum(_number_size(element) for element in data)
    if kind == "BS":
        return sum(len(element) for element in data)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + _value_size(element) for name, element in data.items())
    return 3 + sum(1 + _value_size(element) for element in data)  # L


def _number_size(text: str) -> int:
    """One byte per two significant digits, plus one."""
    if text.isdigit() or (text[:1] == "-" and text[1:].isdigit()):  # an int: its digits, without zeros at either end
        digits = len(text.lstrip("-").strip("0")) or 1
    else:
        digits = _significant_digits(Decimal(text))
    return (digits + 1) // 2 + 1


def _significant_digits(number: Decimal) -> int:
    # Not Decimal.normalize(): it rounds to the context's 28 digits.
    return len("".join(map(str, number.as_tuple().digits)).strip("0")) or 1


def _number(text: str) -> int | float:
    if any(marker in text for marker in ".eE"):
        return float(text)
    return int(text)


def _set_value(value: set | frozenset) -> AttributeValue:
    """Sets (which other producers may write) go back as the set type they came as."""
    if value and all(isinstance(element, str) for element in value):
        return {"SS": sorted(value)}
    if value and all(isinstance(element, int | float | Decimal) and not isinstance(element, bool)
                     for element in value):
        return {"NS": [number_text(element) for element in value]}
    if value and all(isinstance(element, bytes) for element in value):
        return {"BS": sorted(value)}
    raise StorageValidationError(f"DynamoDB cannot store the set {value!r} (sets must be non-empty and of one type)")

