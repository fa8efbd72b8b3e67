"""Echo suppression: recognise Sellsy changes that our own writes caused (F2). Pure: no I/O.

When the connector writes values to a Sellsy object it remembers, per written field, a salted hash of
the value (never the value: phones and emails are personal data). When a webhook later reports a
change on that object, the object's current values for the same fields are hashed again; all equal
means Sellsy is only telling us what we wrote. Nested objects are compared by their leaf fields, so
writing ``{"address": {"city": "Lyon"}}`` only watches ``address.city``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any


def normalise(value: Any) -> str:
    """Comparable text: Sellsy returns numbers as strings, and None or "" for empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return _number(str(value))
    if isinstance(value, list | tuple):
        return "[" + ",".join(normalise(v) for v in value) + "]"
    text = str(value).strip()
    if text and text.replace(".", "", 1).lstrip("-").isdigit():
        return _number(text)  # "12.50" == "12.5", "12" == 12
    return text.casefold() if "@" in text else text  # emails compare case-insensitively


def _number(text: str) -> str:
    try:
        return format(Decimal(text).normalize(), "f")
    except InvalidOperation:
        return text


def flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects as dotted leaf paths."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{path}."))
        else:
            flat[path] = value
    return flat


def lookup(values: Mapping[str, Any], path: str) -> Any:
    current: Any = values
    for part in path.split("."):
        current = current.get(part) if isinstance(current, Mapping) else None
    return current


def field_hash(salt: str, path: str, value: Any) -> str:
    return hashlib.sha256(f"{salt}\x1f{path}\x1f{normalise(value)}".encode()).hexdigest()[:32]


def written_hashes(salt: str, written: Mapping[str, Any]) -> dict[str, str]:
    """What to remember after a write: one salted hash per written leaf field."""
    return {path: field_hash(salt, path, value) for path, value in flatten(written).items()}


def is_echo_of(salt: str, remembered: Mapping[str, str], current_values: Mapping[str, Any]) -> bool:
    """True when, for every field we wrote, the object's current value is the value we wrote."""
    if not remembered:
        return False
    return all(field_hash(salt, path, lookup(current_values, path)) == h for path, h in remembered.items())


def salt_for(account_id: str, sellsy_type: str, sellsy_id: int | str) -> str:
    """Per-object salt: equal values on two objects give different hashes (no cross-object guessing)."""
    return f"{account_id}:{sellsy_type}:{sellsy_id}"
