"""The inventory loader (``keyaudit evaluate INVENTORY``) under random and adversarial JSON.

Property: a valid document loads (and the rules run on it); anything else raises
``InventoryLoadError`` naming the file and, per problem, the place or the JSON line and column.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.engine import discover_rules, evaluate_all
from scanner.inventory import (
    Capability,
    Inventory,
    InventoryLoadError,
    KeyStoreKind,
    Provider,
    load_inventory,
)
from scanner.policy import default_policy
from scanner.rule import Context, Status
from tests import factories as f
from tests.hostile.support import hostile_text, json_values, mutated, time_limit

HOSTILE = settings(
    max_examples=40,
    deadline=dt.timedelta(seconds=5),
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
LIMIT_SECONDS = 10
RULES = discover_rules()


def _sample() -> dict[str, Any]:
    """A small inventory touching every record type, as JSON (the base the mutations start from)."""
    key = f.key("k1", tags={"env": "prod"}, aliases=("alias/k1",))
    vault = f.store("vault1", kind=KeyStoreKind.AZURE_VAULT, provider=Provider.AZURE)
    admin = f.principal(f"arn:aws:iam::{f.ACCOUNT}:role/KeyAdmin")
    inventory = f.inventory(
        keys=(key, f.key("k2", provider=Provider.AZURE, store=vault.uid, uid="https://v/keys/k2")),
        key_stores=(vault,),
        principals=(admin,),
        bindings=(f.binding(admin.uid, key.uid, Capability.ADMINISTER_ACCESS, Capability.DECRYPT),),
        audit_logging=(f.audit(location=f.REGION, admin_events=True, usage_events=False),),
        errors=(f.error(),),
    )
    return json.loads(inventory.model_dump_json())


SAMPLE = _sample()
JSONISH = st.text(alphabet=st.sampled_from(list('{}[]:,"\\ -0123456789.eEtrufalsn\x00\u2028')), max_size=80)
PROBLEM_LINE = re.compile(r"  (at \S.*: \S|Invalid JSON: \S|\.\.\. and \d+ more)")


def _write(tmp_path: Path, data: str | bytes) -> Path:
    path = tmp_path / "inventory.json"
    path.write_bytes(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    return path


def load(path: Path) -> Inventory | None:
    """The loader's outcome: an inventory the rules can judge, or None after checking the error."""
    try:
        with time_limit(LIMIT_SECONDS):
            inventory = load_inventory(path)
    except InventoryLoadError as error:
        lines = str(error).splitlines()
        assert lines[0].startswith(f"{path}: "), str(error)
        assert all(PROBLEM_LINE.match(line) for line in lines[1:]), str(error)
        return None
    with time_limit(LIMIT_SECONDS):
        findings = list(evaluate_all(RULES, Context.build(inventory, default_policy())))
    # A rule that raised is reported as an ERROR finding by the engine: none may, on valid input.
    errors = [x.message for x in findings if x.status is Status.ERROR]
    assert errors == [], errors
    return inventory


@HOSTILE
@given(document=mutated(SAMPLE, json_values()))
def test_sample_inventory_with_wrong_values_anywhere(tmp_path: Path, document: Any) -> None:
    load(_write(tmp_path, json.dumps(document)))


@HOSTILE
@given(document=json_values(max_leaves=30))
def test_random_json_documents(tmp_path: Path, document: Any) -> None:
    load(_write(tmp_path, json.dumps(document)))


@HOSTILE
@given(text=JSONISH, raw=st.binary(max_size=200))
def test_json_like_text_and_binary_garbage(tmp_path: Path, text: str, raw: bytes) -> None:
    load(_write(tmp_path, text))
    load(_write(tmp_path, raw))


@HOSTILE
@given(name=hostile_text(), uid=hostile_text(), message=hostile_text())
def test_hostile_strings_in_valid_places_load_and_are_judged(
    tmp_path: Path, name: str, uid: str, message: str
) -> None:
    document = json.loads(json.dumps(SAMPLE))
    document["keys"][0].update(name=name, uid=uid or "u", aliases=[name], tags={name: uid})
    document["errors"][0]["message"] = message
    document["scopes"][0]["name"] = name
    # ensure_ascii writes a lone surrogate as the escape "\udc80", which JSON readers must refuse
    loaded = load(_write(tmp_path, json.dumps(document, ensure_ascii=True)))
    if loaded is not None:
        assert loaded.keys[0].name == name


# ------------------------------------------------------------------------------------------ adversarial
ADVERSARIAL: dict[str, tuple[str | bytes, str]] = {
    "empty file": (b"", r"Invalid JSON: EOF while parsing"),
    "deep nesting": ("[" * 100_000 + "]" * 100_000, r"Invalid JSON: recursion limit exceeded"),
    "deep nesting in a field": (
        '{"collection": {"notes": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + "}}",
        r"Invalid JSON: recursion limit exceeded",
    ),
    "not UTF-8": (b'{"scopes": [{"uid": "\xff\xfe"}]}', r"Invalid JSON: "),
    "UTF-16": ('{"scopes": []}'.encode("utf-16"), r"Invalid JSON: "),
    "lone surrogate escape": (
        '{"scopes": [{"provider": "aws", "kind": "aws_account", "uid": "\\udc80"}]}',
        "Invalid JSON",
    ),
    "number out of range": (
        '{"keys": [{"size_bits": ' + "9" * 5000 + "}]}",
        r"Invalid JSON: number out of range",
    ),
    "infinity": (
        '{"keys": [{"provider": "aws", "uid": "k", "scope": "s", "size_bits": 1e400}]}',
        r"at keys\[0\]\.size_bits: ",
    ),
    "NaN literal": (
        '{"keys": [{"provider": "aws", "uid": "k", "scope": "s", "size_bits": NaN}]}',
        r"at keys\[0\]\.size_bits: Input should be a finite number",
    ),
    "hostile key names": (
        '{"\\u001b[31m": 1, "a\\nb": 2, "\\u202e": 3, " ": 4, "x.y": 5}',
        r'at \["\\u001b\[31m"\]: Extra inputs',
    ),
    "wrong top level": ("[]", r"at \(top level\): "),
    "unknown field": ('{"keys": [], "backdoor": true}', r"at backdoor: Extra inputs are not permitted"),
    "newer major schema": ('{"schema_version": "2.0"}', r"at schema_version: Value error"),
    "binary garbage": (bytes(range(256)) * 4, r"Invalid JSON: "),
    "many problems": (
        json.dumps({"keys": [{"provider": "x"}] * 50}),
        r"at keys\[0\]\.provider: ",
    ),
}


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_adversarial_inventories_give_the_documented_error_fast(tmp_path: Path, name: str) -> None:
    content, expected = ADVERSARIAL[name]
    path = _write(tmp_path, content)
    with time_limit(LIMIT_SECONDS), pytest.raises(InventoryLoadError) as raised:
        load_inventory(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: not a valid keyaudit inventory ("), message
    assert re.search(r"^  " + expected, message, re.MULTILINE), message
    assert len(message.splitlines()) <= 22  # twenty problems at most, then a count
    load(path)  # and the same checks as for the fuzzed documents


def test_big_but_valid_inventories_load(tmp_path: Path) -> None:
    keys = [f.key(f"k{i}", name="n" * 10_000 if i == 0 else f"k{i}") for i in range(2_000)]
    path = _write(tmp_path, f.inventory(keys=tuple(keys)).model_dump_json())
    with time_limit(LIMIT_SECONDS):
        assert len(load_inventory(path).keys) == 2_000


def test_duplicate_keys_take_the_last_value(tmp_path: Path) -> None:
    """JSON leaves duplicate names undefined; the loader documents nothing and takes the last one, like
    every JSON reader Python has. Pinned here so that a change of reader is a visible decision."""
    text = '{"scopes": [], "scopes": [{"provider": "aws", "kind": "aws_account", "uid": "b"}]}'
    assert [s.uid for s in load_inventory(_write(tmp_path, text)).scopes] == ["b"]


def test_nul_and_control_characters_are_data(tmp_path: Path) -> None:
    text = json.dumps({"scopes": [{"provider": "aws", "kind": "aws_account", "uid": "a\x00b\x1b[31m\u2028"}]})
    (scope,) = load_inventory(_write(tmp_path, text)).scopes
    assert scope.uid == "a\x00b\x1b[31m\u2028"


def test_the_cli_reports_a_bad_inventory_as_bad_input(keyaudit, tmp_path: Path) -> None:
    path = _write(tmp_path, b'{"keys": [{"provider": "aws", "uid": 7}], "extra": "\xff"}')
    result = keyaudit("evaluate", str(path), "--format", "json", "-o", "out.json", "-q")
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"keyaudit: error: {path}: not a valid keyaudit inventory"), result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out.json").exists()
