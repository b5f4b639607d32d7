"""File names for generation ids: inside the directory, one per id, readable where possible.

``file_name_for`` encodes the id's UTF-8 bytes:

- ``a``-``z``, ``0``-``9``, ``_`` and ``-`` are kept, so ``gen_123`` is stored as ``gen_123.json``;
- an upper-case letter becomes ``!`` and its lower-case form (as the Go module cache spells
  upper case): ``Gen`` is ``!gen.json``;
- every other byte becomes ``%`` and two lower-case hex digits: ``../x`` is ``%2e%2e%2fx.json``,
  ``日本`` is ``%e6%97%a5%e6%9c%ac.json``;
- a Windows device name (``con``, ``nul``, ``com1``…) gets its first letter escaped: ``%63on.json``;
- a name that would pass the 255-byte limit of file names is ``+`` and the SHA-256 of the id;
  the document keeps the real id, and reads check it.

A name holds no separator, no dot before ``.json`` and no upper case, so it cannot leave the
directory. The escapes decode one way only, so two ids never share a name, not even on a
case-insensitive file system. Names starting with ``.`` are never documents: temp and lock
files use them.
"""

from __future__ import annotations

import hashlib
import string

SUFFIX = ".json"
MAX_NAME_BYTES = 255
HASHED_PREFIX = "+"

_KEPT = string.ascii_lowercase + string.digits + "_-"
_WINDOWS_DEVICES = frozenset(
    ["con", "prn", "aux", "nul"] + [f"{port}{n}" for port in ("com", "lpt") for n in range(10)]
)


def _escape(byte: int) -> str:
    char = chr(byte)
    if char in _KEPT:
        return char
    if char in string.ascii_uppercase:
        return "!" + char.lower()
    return f"%{byte:02x}"


#: Byte (read as a Latin-1 code point) -> its spelling in a file name, for ``str.translate``.
_ESCAPES = {byte: _escape(byte) for byte in range(256)}


def file_name_for(generation_id: str) -> str:
    """The name of the file that holds ``generation_id`` (see the module docstring)."""
    raw = generation_id.encode("utf-8", "surrogatepass")
    stem = raw.decode("latin-1").translate(_ESCAPES)
    if stem in _WINDOWS_DEVICES:
        stem = f"%{raw[0]:02x}" + stem[1:]
    if len(stem) + len(SUFFIX) > MAX_NAME_BYTES:
        stem = HASHED_PREFIX + hashlib.sha256(raw).hexdigest()
    return stem + SUFFIX


def is_document_name(name: str) -> bool:
    """Whether a directory entry is a stored document (not a temp file, lock or stranger)."""
    return name.endswith(SUFFIX) and not name.startswith(".")
