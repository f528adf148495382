"""The policy-file and waiver-file loaders under random and adversarial YAML.

Property: a valid document loads; anything else raises ``InputError`` whose message starts with the
file (and its line where there is one); nothing else escapes, and nothing takes long.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.engine import discover_rules
from scanner.errors import InputError
from scanner.policy import LoadedPolicy, load_policy
from scanner.waivers import WaiverFile, load_waivers
from tests.hostile.support import hostile_text, mutated, time_limit, yaml_values

REPO = Path(__file__).resolve().parents[2]
HOSTILE = settings(
    max_examples=60,
    deadline=dt.timedelta(seconds=5),
    derandomize=True,  # the same examples on every run: a failure in CI is a failure on a laptop
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
LIMIT_SECONDS = 10  # a hang fails the example; the slowest real case (deep nesting) takes ~2 s
RULE_IDS = [rule.meta.id for rule in discover_rules()]

SAMPLE_POLICY = yaml.safe_load((REPO / "samples" / "cek-policy.yaml").read_text(encoding="utf-8"))
SAMPLE_WAIVERS: dict[str, Any] = {
    "waivers": [
        {
            "id": "W-2026-014",
            "rule": "key_rotation_*",
            "resource": "arn:aws:kms:*:111122223333:key/*",
            "scope": "111122223333",
            "provider": "aws",
            "tags": {"data_classification": ["public", "internal"]},
            "reason": "Public signing key; rotation would break verifiers",
            "owner": "platform-security@example.com",
            "ticket": "SEC-1234",
            "expires": dt.date(2027, 1, 31),
        },
        {
            "rule": "key_not_publicly_accessible",
            "reason": "r",
            "owner": "o",
            "ticket": 1234,
            "expires": "2027-02-28",
        },
    ]
}
YAMLISH = st.text(
    alphabet=st.sampled_from(list("{}[]:,-&*!|>'\"#%@`?~ \n\t\\ab01.\u2028\x00\x85")), max_size=80
)


def _write(tmp_path: Path, data: str | bytes, name: str = "input.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    return path


def _dump(document: Any, flow: bool, unicode: bool) -> str:
    return yaml.safe_dump(document, default_flow_style=flow, allow_unicode=unicode, sort_keys=False)


def assert_clear_error(error: InputError, path: Path) -> None:
    """The documented error: it starts with the file, then its line when known, then what is wrong."""
    message = str(error)
    first = message.splitlines()[0] if message else ""
    assert re.match(re.escape(str(path)) + r"(:\d+)?: \S", first), f"unclear error: {message!r}"
    assert "Traceback" not in message


def load_policy_file(path: Path) -> LoadedPolicy | None:
    """The loader's outcome: a policy, or None after checking its error is the documented one."""
    try:
        with time_limit(LIMIT_SECONDS):
            loaded = load_policy(path)
    except InputError as error:
        assert_clear_error(error, path)
        return None
    assert isinstance(loaded, LoadedPolicy) and loaded.source is not None
    loaded.source.path.encode("utf-8")  # printable in any UTF-8 output
    return loaded


def load_waiver_file(path: Path) -> WaiverFile | None:
    try:
        with time_limit(LIMIT_SECONDS):
            loaded = load_waivers(path)
            loaded.check_rules(RULE_IDS)  # what the CLI does next: globs compiled and tried
    except InputError as error:
        assert_clear_error(error, path)
        return None
    assert isinstance(loaded, WaiverFile)
    loaded.path.encode("utf-8")
    for waiver in loaded.waivers:
        json.dumps(waiver.finding_field(), ensure_ascii=False).encode("utf-8")  # goes into every output
    return loaded


# ---------------------------------------------------------------------------------------------- fuzzing
@HOSTILE
@given(document=yaml_values(), flow=st.booleans(), unicode=st.booleans())
def test_policy_loader_random_documents(tmp_path: Path, document: Any, flow: bool, unicode: bool) -> None:
    load_policy_file(_write(tmp_path, _dump(document, flow, unicode)))


@HOSTILE
@given(document=mutated(SAMPLE_POLICY, yaml_values()), flow=st.booleans())
def test_policy_loader_sample_policy_with_wrong_values(tmp_path: Path, document: Any, flow: bool) -> None:
    load_policy_file(_write(tmp_path, _dump(document, flow, unicode=True)))


@HOSTILE
@given(document=yaml_values(), flow=st.booleans(), unicode=st.booleans())
def test_waiver_loader_random_documents(tmp_path: Path, document: Any, flow: bool, unicode: bool) -> None:
    load_waiver_file(_write(tmp_path, _dump(document, flow, unicode)))


@HOSTILE
@given(document=mutated(SAMPLE_WAIVERS, yaml_values()), flow=st.booleans())
def test_waiver_loader_sample_waivers_with_wrong_values(tmp_path: Path, document: Any, flow: bool) -> None:
    load_waiver_file(_write(tmp_path, _dump(document, flow, unicode=True)))


@HOSTILE
@given(text=YAMLISH, raw=st.binary(max_size=200))
def test_both_loaders_survive_yaml_like_text_and_binary_garbage(
    tmp_path: Path, text: str, raw: bytes
) -> None:
    for data in (text, raw):
        load_policy_file(_write(tmp_path, data))
        load_waiver_file(_write(tmp_path, data))


@HOSTILE
@given(reason=hostile_text(), owner=hostile_text(), resource=hostile_text())
def test_hostile_waiver_text_loads_and_stays_writable(
    tmp_path: Path, reason: str, owner: str, resource: str
) -> None:
    document = {
        "waivers": [
            {
                "rule": "key_rotation_enabled",
                "resource": resource,
                "reason": reason,
                "owner": owner,
                "ticket": "T-1",
                "expires": "2027-01-31",
            }
        ]
    }
    for unicode in (True, False):
        load_waiver_file(_write(tmp_path, _dump(document, flow=False, unicode=unicode)))


def test_the_samples_load() -> None:
    """The fuzzing starts from documents the loaders accept (else it would only test error paths)."""
    assert load_policy(REPO / "samples" / "cek-policy.yaml").present


# ------------------------------------------------------------------------------------------ adversarial
def _laughs(levels: int) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for n in range(1, levels + 1):
        lines.append(f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


ADVERSARIAL: dict[str, tuple[str | bytes, str]] = {
    # name: (file content, what the error must say: a regular expression after "FILE")
    "billion laughs (9**10 values)": (_laughs(9), r":\d+: at a\d(\[\d+\])+: aliases repeat more than"),
    "billion laughs as waivers": (
        "waivers:\n" + "".join("  " + line + "\n" for line in _laughs(9).splitlines()),
        r":\d+: at waivers\.a\d(\[\d+\])+: aliases repeat more than",
    ),
    "alias that contains itself": ("a: &a [*a]\n", r":1: nested deeper than 64 levels"),
    "deep flow nesting": ("[" * 600 + "]" * 600, r": \S+ file is nested too deeply to read"),
    "deep block nesting": (
        "".join("  " * i + "- \n" for i in range(400)),
        r"(: \S+ file is nested too deeply|:\d+: nested deeper than 64 levels)",
    ),
    "deep mapping nesting": ("{a: " * 600 + "}" * 600, r": \S+ file is nested too deeply"),
    "duplicate key": (
        "rotation:\n  max_days: 90\nrotation:\n  max_days: 30\n",
        r":3: at rotation: duplicate key",
    ),
    "NUL byte": ("policy:\n  owner: a\x00b\n", r": \S+ file is not valid YAML"),
    "not UTF-8": (b"policy:\n  owner: \xff\xfe\n", r": cannot read \S+ file"),
    "UTF-16": ("policy: {}\n".encode("utf-16"), r": cannot read \S+ file"),
    "lone surrogate escape": (
        'policy:\n  owner: "\\udc80"\n',
        r":2: at policy\.owner: a \\uD800-\\uDFFF escape without",
    ),
    "two documents": ("a: 1\n---\nb: 2\n", r":\d+: \S+ file is not valid YAML"),
    "anchor on a key": ("? &k [1]\n: v\n", r":1: mapping keys must be plain strings"),
    "python tag": (
        "policy:\n  owner: !!python/name:os.system ''\n",
        r":2: at policy\.owner: could not determine",
    ),
    "merge key": ("b: &b {max_days: 3}\nrotation:\n  <<: *b\n", r":3: at rotation: could not determine"),
    "huge integer": (
        "rotation:\n  max_days: " + "9" * 5000 + "\n",
        r":2: at rotation\.max_days: not a valid",
    ),
    "impossible date": (
        "policy:\n  approved_on: 2027-02-30\n",
        r":2: at policy\.approved_on: not a valid date",
    ),
    "binary garbage": (bytes(range(256)) * 4, r": cannot read \S+ file"),
}


@pytest.mark.parametrize("loader", [load_policy, load_waivers], ids=["policy", "waivers"])
@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_adversarial_documents_give_the_documented_error_fast(tmp_path: Path, loader: Any, name: str) -> None:
    content, expected = ADVERSARIAL[name]
    path = _write(tmp_path, content)
    with time_limit(LIMIT_SECONDS), pytest.raises(InputError) as raised:
        loader(path)
    assert_clear_error(raised.value, path)
    assert re.match(re.escape(str(path)) + expected, str(raised.value)), str(raised.value)


@pytest.mark.parametrize(
    ("content", "check"),
    [
        ("", lambda p: p.document.rotation.max_days == 365),  # empty: the defaults
        ("\ufeff# only a comment\n", lambda p: p.document.rotation.max_days == 365),
        ("rotation:\n  max_days: 90\n" + "#" * 100_000 + "\n", lambda p: p.document.rotation.max_days == 90),
        (  # a huge list and a long string are data, not an attack
            "roles:\n  key_users:\n    members: [" + ", ".join(f"u{i}" for i in range(10_000)) + "]\n",
            lambda p: len(p.document.roles.key_users.members) == 10_000,
        ),
        (
            "policy:\n  owner: " + "x" * 1_000_000 + "\n",
            lambda p: len(p.document.policy.owner or "") == 1_000_000,
        ),
        (  # a character outside the BMP written as a UTF-16 pair of escapes, as JSON tools write it
            'policy:\n  owner: "\\ud83d\\ude00 \\u202e\\u200b"\n',
            lambda p: p.document.policy.owner == "\U0001f600 \u202e\u200b",
        ),
        (  # anchors and aliases used sensibly are fine
            "roles:\n  key_administrators:\n    members: &admins [a, b]\n  auditors:\n    members: *admins\n",
            lambda p: p.document.roles.auditors.members == ("a", "b"),
        ),
    ],
    ids=["empty", "bom-comment", "long-comment", "huge-list", "long-string", "surrogate-pair", "alias"],
)
def test_large_or_unusual_but_valid_policies_load(tmp_path: Path, content: str, check: Any) -> None:
    with time_limit(LIMIT_SECONDS):
        loaded = load_policy(_write(tmp_path, content))
    assert check(loaded)


def test_file_names_that_are_not_utf8_reach_every_output(tmp_path: Path, keyaudit, write_inventory) -> None:
    """A policy and a waiver file whose names are not UTF-8 (Linux allows any bytes): the names are shown
    with an escape, and every output is still written (a lone surrogate used to fail them all)."""
    from tests import factories as f

    inventory = write_inventory(f.inventory(keys=(f.key("k1", rotation=None),)))
    policy = tmp_path / "policy-\udcff.yaml"  # the byte 0xff, as Python names it (surrogateescape)
    policy.write_text("rotation:\n  max_days: 90\n", encoding="utf-8")
    waivers = tmp_path / "waivers-\udcfe.yaml"
    waivers.write_text(
        "waivers:\n  - rule: key_rotation_enabled\n    reason: r\n    owner: o\n    ticket: T-1\n"
        "    expires: 2027-01-31\n",
        encoding="utf-8",
    )
    formats = ("json", "csv", "html", "table", "ocsf", "caiq-md")  # each failed on its own before
    args = [str(inventory), "--policy", str(policy), "--waivers", str(waivers), "--as-of", "2026-11-22"]
    result = keyaudit(
        "evaluate", *args, *(a for fmt in formats for a in ("--format", fmt)), "-o", "out", "-q"
    )
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    native = json.loads((tmp_path / "out" / "keyaudit-report.json").read_text(encoding="utf-8"))
    assert native["scan"]["policy"]["path"].endswith("policy-\\xff.yaml")
    assert native["scan"]["waivers"]["path"].endswith("waivers-\\xfe.yaml")
    assert any(x["waived"] for x in native["findings"])
    assert len(list((tmp_path / "out").iterdir())) == len(formats)


def test_an_inventory_file_name_that_is_not_utf8_reaches_the_json_output(keyaudit, write_inventory) -> None:
    from tests import factories as f

    inventory = write_inventory(f.inventory(), "inventory-\udcff.json")
    result = keyaudit("evaluate", str(inventory), "--format", "json", "-o", "out.json", "-q")
    assert result.returncode in (0, 3), result.stderr
