"""A strict validator of OCSF events against the trimmed OCSF 1.8.0 schema in tests/data/ocsf/.

Strict on purpose (unlike py-ocsf-models, which drops what it does not know): every attribute must exist
in the class or object, required attributes must be present (profile-gated ones when the profile is listed
in ``metadata.profiles``), types and arrays must match, integer enums must hold a listed value, and
``at_least_one`` constraints must hold. Returns the list of problems, each with its path.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA_FILE = Path(__file__).parent / "data" / "ocsf" / "schema-1.8.0-compliance_finding.json"
_BASE_TYPES = {
    "string_t": str,
    "integer_t": int,
    "long_t": int,
    "float_t": (int, float),
    "boolean_t": bool,
    "json_t": object,
}


@cache
def schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return data


def _base(type_name: str) -> str:
    types = schema()["types"]
    seen = set()
    while type_name in types and types[type_name].get("type") and type_name not in seen:
        seen.add(type_name)
        type_name = types[type_name]["type"]
    return type_name


def validate_event(event: dict[str, Any], class_name: str = "compliance_finding") -> list[str]:
    spec = schema()["classes"][class_name]
    profiles = set((event.get("metadata") or {}).get("profiles") or ())
    problems: list[str] = []
    _object(event, spec, profiles, class_name, problems)
    return problems


def _object(value: Any, spec: dict[str, Any], profiles: set[str], path: str, problems: list[str]) -> None:
    if not isinstance(value, dict):
        problems.append(f"{path}: expected an object, got {type(value).__name__}")
        return
    attributes = spec["attributes"]
    for name in value:
        if name not in attributes:
            problems.append(f"{path}.{name}: not an attribute of this OCSF class/object")
    for name, attribute in attributes.items():
        needed = attribute.get("requirement") == "required"
        gated = attribute.get("profile")
        if needed and (gated is None or gated in profiles) and name not in value:
            problems.append(f"{path}.{name}: required attribute missing")
    for group in (spec.get("constraints") or {}).get("at_least_one", ()) and [
        spec["constraints"]["at_least_one"]
    ]:
        if not any(name in value for name in group):
            problems.append(f"{path}: needs at least one of {group}")
    for name, item in value.items():
        attribute = attributes.get(name)
        if attribute is not None:
            _attribute(item, attribute, profiles, f"{path}.{name}", problems)


def _attribute(
    value: Any, attribute: dict[str, Any], profiles: set[str], path: str, problems: list[str]
) -> None:
    if attribute.get("is_array"):
        if not isinstance(value, list):
            problems.append(f"{path}: expected an array")
            return
        for index, item in enumerate(value):
            _single(item, attribute, profiles, f"{path}[{index}]", problems)
        return
    _single(value, attribute, profiles, path, problems)


def _single(
    value: Any, attribute: dict[str, Any], profiles: set[str], path: str, problems: list[str]
) -> None:
    type_name = attribute["type"]
    objects = schema()["objects"]
    if type_name == "object":  # OCSF's free-form object (``unmapped``): any keys
        if not isinstance(value, dict):
            problems.append(f"{path}: expected an object")
        return
    if type_name in objects:
        _object(value, objects[type_name], profiles, path, problems)
        return
    expected = _BASE_TYPES.get(_base(type_name))
    if expected is None:
        problems.append(f"{path}: unknown OCSF type {type_name}")
        return
    if expected is int and (isinstance(value, bool) or not isinstance(value, int)):
        problems.append(f"{path}: expected an integer ({type_name}), got {value!r}")
    elif expected is not object and expected is not int and not isinstance(value, expected):
        problems.append(f"{path}: expected {type_name}, got {type(value).__name__}")
    enum = attribute.get("enum")
    if enum and isinstance(value, int) and str(value) not in enum:
        problems.append(f"{path}: {value} is not one of {enum}")
