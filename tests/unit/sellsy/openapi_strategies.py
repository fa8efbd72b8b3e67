"""Hypothesis strategies that draw JSON bodies from the schemas of Sellsy's OpenAPI file.

Built here (not hypothesis-jsonschema) for what the file allows and the code must survive: ``$ref``
(JSON pointers, also into ``paths``), ``allOf`` (merged), ``anyOf`` / ``oneOf`` (one branch), nullable
fields drawn as null, optional fields left out, enum values plus unknown ones ("a value can be added"),
and extra fields ("a new field can be added"). Strings with a format get a value of that format most of
the time (amounts are decimal strings in Sellsy's examples). Recursion is cut at a depth.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from hypothesis import strategies as st

MAX_DEPTH = 3
UNKNOWN_ENUM = "value-added-later"

_dates = st.dates().map(lambda d: d.isoformat())
_datetimes = st.datetimes(timezones=st.just(__import__("datetime").UTC)).map(lambda d: d.isoformat())
_decimal_strings = st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False).map(str)
_extra_values = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8))


class SchemaStrategies:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self._built: dict[tuple[int, int], st.SearchStrategy[Any]] = {}

    def resolve(self, ref: str) -> Any:
        node: Any = self.spec
        for part in ref.removeprefix("#/").split("/"):
            key = unquote(part).replace("~1", "/").replace("~0", "~")
            node = node[int(key)] if isinstance(node, list) else node[key]
        return node

    def at(self, pointer: str) -> st.SearchStrategy[Any]:
        return self.of(self.resolve(pointer))

    def flatten(self, schema: Any, depth: int = 0) -> dict[str, Any]:
        """Follow ``$ref`` and merge ``allOf`` into one schema (anyOf/oneOf stay as choices)."""
        while isinstance(schema, dict) and "$ref" in schema:
            schema = {**self.resolve(schema["$ref"]), **{k: v for k, v in schema.items() if k != "$ref"}}
        if not isinstance(schema, dict):
            return {}
        if "allOf" in schema and depth < MAX_DEPTH:
            merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                flat = self.flatten(part, depth + 1)
                for key, value in flat.items():
                    if key == "properties":
                        merged["properties"] = {**merged.get("properties", {}), **value}
                    elif key == "required":
                        merged["required"] = sorted({*merged.get("required", []), *value})
                    else:
                        merged.setdefault(key, value)
            return merged
        return schema

    def of(self, schema: Any, depth: int = 0) -> st.SearchStrategy[Any]:
        key = (id(schema), depth)
        if key not in self._built:
            self._built[key] = self._build(schema, depth)
        return self._built[key]

    def _build(self, schema: Any, depth: int) -> st.SearchStrategy[Any]:
        flat = self.flatten(schema, depth)
        choices = flat.get("anyOf") or flat.get("oneOf")
        if choices and depth < MAX_DEPTH:
            rest = {k: v for k, v in flat.items() if k not in ("anyOf", "oneOf")}
            branches = [self.of({"allOf": [rest, choice]} if rest else choice, depth + 1) for choice in choices]
            drawn = st.one_of(*branches)
        else:
            drawn = self._typed(flat, depth)
        if flat.get("nullable"):
            drawn = st.one_of(st.none(), drawn)
        return drawn

    def _typed(self, schema: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
        if "enum" in schema:
            values = [v for v in schema["enum"] if v is not None]
            known = st.sampled_from(values) if values else st.none()
            unknown = st.just(UNKNOWN_ENUM) if schema.get("type", "string") == "string" else st.integers()
            return st.one_of(known, known, known, unknown)
        kind = schema.get("type") or ("object" if "properties" in schema else None)
        if kind == "object":
            return self._object(schema, depth)
        if kind == "array":
            if depth >= MAX_DEPTH:
                return st.just([])
            return st.lists(self.of(schema.get("items", {}), depth + 1), max_size=2)
        if kind == "integer":
            return st.integers(min_value=-(2**31), max_value=2**31)
        if kind == "number":
            return st.one_of(st.integers(-(10**6), 10**6), st.floats(allow_nan=False, allow_infinity=False, width=32))
        if kind == "boolean":
            return st.booleans()
        if kind == "string":
            fmt = schema.get("format")
            if fmt == "date":
                return st.one_of(_dates, _dates, st.text(max_size=5))
            if fmt == "date-time":
                return st.one_of(_datetimes, _datetimes, st.text(max_size=5))
            return st.one_of(_decimal_strings, st.text(max_size=12))
        return _extra_values  # no type: anything JSON

    def _object(self, schema: dict[str, Any], depth: int) -> st.SearchStrategy[dict[str, Any]]:
        if depth >= MAX_DEPTH:
            return st.just({})
        properties: dict[str, Any] = schema.get("properties") or {}
        required = set(schema.get("required") or [])
        fixed = {name: self.of(sub, depth + 1) for name, sub in properties.items() if name in required}
        optional = {name: self.of(sub, depth + 1) for name, sub in properties.items() if name not in required}
        extra = st.dictionaries(st.sampled_from(["added_field", "x_new", "_meta"]), _extra_values, max_size=1)
        return st.builds(
            lambda a, b, c: {**c, **b, **a},
            st.fixed_dictionaries(fixed),
            st.fixed_dictionaries({}, optional=optional),
            extra,
        )
