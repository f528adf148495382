"""The AWS policy-document evaluator (key policies, identity policies) under random and adversarial JSON.

Properties: the evaluator returns a result (sorted tuples, the same whatever the statement order) or
raises ``PolicyParseError`` naming the document; it never hangs, whatever the wildcards; and Resource
patterns match exactly what a glob matches, private-use characters included.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from providers.aws.actions import ACTIONS as ACTION_TABLE
from providers.aws.actions import KMS_ACTIONS, matching_actions
from providers.aws.policy import (
    RESTRICTING_CONDITION_KEYS,
    IdentityAccess,
    KeyPolicyAccess,
    PolicyParseError,
    evaluate_identity_policies,
    evaluate_key_policy,
)
from scanner.inventory import Capability
from tests.hostile.support import hostile_text, json_values, time_limit

HOSTILE = settings(
    max_examples=100,
    deadline=dt.timedelta(seconds=2),
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
LIMIT_SECONDS = 5
ACCOUNT = "111122223333"
KEY_ARN = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/KeyAdmin"

# ------------------------------------------------------------------------------------------ strategies
WILD = st.text(alphabet=st.sampled_from(list("*?")), min_size=1, max_size=12)
ACTION_WORDS = st.sampled_from(
    ["kms:", "Decrypt", "Encrypt", "Generate", "DataKey", "Put", "Key", "iam:", "a", "e", ""]
)
ACTIONS = st.lists(st.one_of(ACTION_WORDS, WILD), max_size=8).map("".join)
ARN_PARTS = st.sampled_from(
    [
        "arn:",
        "aws:",
        "kms:",
        "eu-west-1:",
        f"{ACCOUNT}:",
        "key/",
        "1234abcd",
        "alias/",
        "${aws:username}",
        "${*}",
        "",
    ]
)
RESOURCES = st.one_of(
    st.lists(
        st.one_of(ARN_PARTS, WILD, st.sampled_from(["\ue000", "\ue001", "\ue003", "::"])), max_size=8
    ).map("".join),
    hostile_text(),
)
PRINCIPALS = st.one_of(
    st.just("*"),
    st.dictionaries(
        st.sampled_from(["AWS", "Service", "Federated", "CanonicalUser", "aws", "Other"]),
        st.one_of(
            st.sampled_from(
                [
                    ADMIN,
                    ACCOUNT,
                    "*",
                    "123456789012",
                    "AROAEXAMPLE",
                    f"arn:aws:sts::{ACCOUNT}:assumed-role/R/s",
                ]
            ),
            st.lists(st.sampled_from([ADMIN, ACCOUNT, "*", "arn:aws:iam::999999999999:root"]), max_size=3),
            json_values(max_leaves=3),
        ),
        max_size=3,
    ),
    json_values(max_leaves=3),
)
CONDITIONS = st.dictionaries(
    st.sampled_from(
        [
            "StringEquals",
            "StringNotEquals",
            "StringLike",
            "ArnLike",
            "Bool",
            "ForAllValues:StringEquals",
            "ForAnyValue:StringLike",
            "StringEqualsIfExists",
            "Null",
            "IpAddress",
            "NotIpAddress",
            "Weird",
        ]
    ),
    st.one_of(
        st.dictionaries(
            st.one_of(st.sampled_from(sorted(RESTRICTING_CONDITION_KEYS)), hostile_text()),
            st.one_of(
                st.sampled_from(["o-abc", "*", "o-*", ACCOUNT, "true", "0.0.0.0/0"]),
                json_values(max_leaves=3),
            ),
            max_size=3,
        ),
        json_values(max_leaves=3),
    ),
    max_size=3,
)


def _maybe_list(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(values, st.lists(values, max_size=4), SMALL_JSON)


SMALL_JSON = json_values(max_leaves=3)
ELEMENTS: dict[str, st.SearchStrategy[Any]] = {
    "Sid": st.one_of(hostile_text(), SMALL_JSON),
    "Effect": st.one_of(st.sampled_from(["Allow", "Deny", "allow", ""]), SMALL_JSON),
    "Action": _maybe_list(ACTIONS),
    "NotAction": _maybe_list(ACTIONS),
    "Resource": _maybe_list(RESOURCES),
    "NotResource": _maybe_list(RESOURCES),
    "Condition": st.one_of(CONDITIONS, SMALL_JSON),
    "Principal": PRINCIPALS,
    "NotPrincipal": PRINCIPALS,
}


@st.composite
def statements(draw: st.DrawFn, *, key_policy: bool) -> Any:
    # Mostly well-formed statements (so evaluation gets deep), sometimes anything at all.
    wanted = {"Effect", "Action", "Resource"} | ({"Principal"} if key_policy else set())
    statement: dict[str, Any] = {}
    for name, values in ELEMENTS.items():
        if not key_policy and name in ("Principal", "NotPrincipal"):
            continue
        if draw(st.floats(0, 1)) < (0.9 if name in wanted else 0.25):
            statement[name] = draw(values)
    if draw(st.booleans()):
        statement[draw(hostile_text())] = draw(SMALL_JSON)
    return statement if draw(st.floats(0, 1)) < 0.95 else draw(json_values(max_leaves=4))


@st.composite
def documents(draw: st.DrawFn, *, key_policy: bool) -> Any:
    body = draw(st.lists(statements(key_policy=key_policy), max_size=5))
    shape = draw(st.sampled_from(["list", "single", "missing", "garbage", "top-garbage"]))
    if shape == "top-garbage":
        return draw(json_values())
    document: dict[str, Any] = {"Version": "2012-10-17"}
    if shape == "list":
        document["Statement"] = body
    elif shape == "single" and body:
        document["Statement"] = body[0]
    elif shape == "garbage":
        document["Statement"] = draw(json_values(max_leaves=4))
    return document


def _as_given(document: Any, as_text: bool) -> Any:
    return json.dumps(document) if as_text or not isinstance(document, dict) else document


def _reordered(document: Any) -> Any:
    if isinstance(document, dict) and isinstance(document.get("Statement"), list):
        return {**document, "Statement": list(reversed(document["Statement"]))}
    return document


def _key_policy(document: Any) -> KeyPolicyAccess | None:
    try:
        with time_limit(LIMIT_SECONDS):
            access = evaluate_key_policy(document, key_arn=KEY_ARN, account_id=ACCOUNT)
    except PolicyParseError as error:
        assert str(error).startswith("key policy "), str(error)
        return None
    assert isinstance(access, KeyPolicyAccess)
    principals = [g.principal for g in access.grants]
    assert principals == sorted(principals) and len(set(principals)) == len(principals)
    assert all(list(g.statements) == sorted(g.statements) and g.capabilities for g in access.grants)
    assert list(access.problems) == sorted(set(access.problems))
    assert access.delegated_capabilities <= frozenset(Capability)
    return access


# ---------------------------------------------------------------------------------------------- fuzzing
@HOSTILE
@given(document=documents(key_policy=True), as_text=st.booleans())
def test_key_policies_evaluate_or_fail_clearly_whatever_the_statement_order(
    document: Any, as_text: bool
) -> None:
    first = _key_policy(_as_given(document, as_text))
    second = _key_policy(_as_given(_reordered(document), as_text))
    assert first == second  # "Results never depend on statement order"


@HOSTILE
@given(
    policies=st.lists(st.tuples(hostile_text(), documents(key_policy=False), st.booleans()), max_size=3),
    key_arn=st.sampled_from([KEY_ARN, None]),
)
def test_identity_policies_evaluate_or_fail_clearly(
    policies: list[tuple[str, Any, bool]], key_arn: str | None
) -> None:
    given_documents = [(name, _as_given(document, as_text)) for name, document, as_text in policies]
    try:
        with time_limit(LIMIT_SECONDS):
            access = evaluate_identity_policies(given_documents, key_arn=key_arn, account_id=ACCOUNT)
    except PolicyParseError as error:
        assert any(str(error).startswith(f"identity policy {name!r} ") for name, _ in given_documents), str(
            error
        )
        return
    assert isinstance(access, IdentityAccess)
    assert list(access.via) == sorted(set(access.via)) and list(access.problems) == sorted(access.problems)


@HOSTILE
@given(
    text=st.text(alphabet=st.sampled_from(list('{}[]:,"\\ \n-1e.tfn\u2028\x00')), max_size=60),
    raw=hostile_text(),
)
def test_policy_text_that_is_not_json_is_a_parse_error(text: str, raw: str) -> None:
    for candidate in (text, raw):
        _key_policy(candidate)


# ------------------------------------------------------------------------------ Resource glob semantics
@cache
def _glob(pattern: str, text: str) -> bool:
    """Reference glob: '*' any run, '?' one character, everything else literal (IAM without variables)."""
    if not pattern:
        return not text
    if pattern[0] == "*":
        return _glob(pattern[1:], text) or (bool(text) and _glob(pattern, text[1:]))
    return bool(text) and pattern[0] in ("?", text[0]) and _glob(pattern[1:], text[1:])


GLOB_ALPHABET = st.sampled_from(["a", "b", ":", "/", "\ue000", "\ue001", "\ue002", "\ue003"])


@HOSTILE
@given(
    pattern=st.lists(st.one_of(GLOB_ALPHABET, st.sampled_from(["*", "?", "**", "*?*"])), max_size=10).map(
        "".join
    ),
    arn=st.lists(GLOB_ALPHABET, max_size=10).map("".join),
    effect=st.sampled_from(["Allow", "Deny"]),
)
def test_resource_patterns_match_exactly_what_a_glob_matches(pattern: str, arn: str, effect: str) -> None:
    """Private-use characters (keyaudit's own wildcard encoding) in a policy are ordinary characters."""
    allow = {"Effect": "Allow", "Principal": {"AWS": ADMIN}, "Action": "kms:Decrypt", "Resource": "*"}
    tested = {"Effect": effect, "Principal": {"AWS": ADMIN}, "Action": "kms:Decrypt", "Resource": pattern}
    document = {"Statement": [tested] if effect == "Allow" else [allow, tested]}
    with time_limit(LIMIT_SECONDS):
        access = evaluate_key_policy(document, key_arn=arn, account_id=ACCOUNT)
    can_decrypt = any(Capability.DECRYPT in g.capabilities for g in access.grants)
    assert can_decrypt == (_glob(pattern, arn) if effect == "Allow" else not _glob(pattern, arn))


# ------------------------------------------------------------------------------------------ adversarial
EXPONENTIAL = [  # each of these took minutes per key before the matchers were made linear
    "arn:aws:kms:" + "*" * 40 + "x",
    "*a" * 30 + "b",
    "*?" * 30 + "x",
    "arn:aws:kms:" + "*:" * 30 + "x",
]
ACTION_BOMBS = ["kms:" + "*" * 40 + "x", "*e" * 30 + "x", "*?" * 30 + "q", "k*m*s*:*" * 10 + "z"]


@pytest.mark.parametrize("pattern", EXPONENTIAL)
@pytest.mark.parametrize("element", ["Resource", "NotResource"])
def test_wildcard_runs_in_resources_take_no_time(pattern: str, element: str) -> None:
    for effect in ("Allow", "Deny"):
        statement = {"Effect": effect, "Principal": "*", "Action": "kms:*", element: [pattern] * 20}
        document = json.dumps({"Statement": [statement] * 10})
        with time_limit(1):
            evaluate_key_policy(document, key_arn=KEY_ARN, account_id=ACCOUNT)
            identity = {"Statement": [{k: v for k, v in statement.items() if k != "Principal"}]}
            evaluate_identity_policies([("p", identity)], key_arn=KEY_ARN)
            evaluate_identity_policies([("p", identity)], key_arn=None, account_id=ACCOUNT)


@pytest.mark.parametrize("pattern", ACTION_BOMBS)
@pytest.mark.parametrize("element", ["Action", "NotAction"])
def test_wildcard_runs_in_actions_take_no_time(pattern: str, element: str) -> None:
    statement = {"Effect": "Allow", "Principal": "*", element: [pattern, pattern.upper()], "Resource": "*"}
    with time_limit(1):
        evaluate_key_policy({"Statement": [statement]}, key_arn=KEY_ARN, account_id=ACCOUNT)
        identity = {k: v for k, v in statement.items() if k != "Principal"}
        evaluate_identity_policies([("p", {"Statement": identity})], key_arn=None, account_id=ACCOUNT)


@HOSTILE
@given(pattern=ACTIONS.filter(lambda p: sum(p.count(c) for c in "*?") <= 5))
def test_collapsed_wildcards_match_the_same_actions(pattern: str) -> None:
    """Runs of wildcards are collapsed before matching: the actions (and so capabilities) stay the same
    as the action table's own matcher gives for the pattern as written."""
    statement = {"Effect": "Allow", "Principal": {"AWS": ADMIN}, "Action": pattern, "Resource": "*"}
    access = evaluate_key_policy({"Statement": [statement]}, key_arn=KEY_ARN, account_id=ACCOUNT)
    given_ = access.grants[0].capabilities if access.grants else frozenset()
    expected = frozenset().union(*(ACTION_TABLE[a] for a in matching_actions([pattern]) & KMS_ACTIONS))
    assert given_ == expected


def test_a_private_use_character_in_a_deny_does_not_hide_access() -> None:
    """AWS reads U+E000 literally: this Deny matches no key, so the administrator keeps every right.
    keyaudit encodes '*' as U+E000 internally, and used to read the Deny as 'Resource: *'."""
    allow = {"Effect": "Allow", "Principal": {"AWS": ADMIN}, "Action": "kms:*", "Resource": "*"}
    deny = {"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "\ue000"}
    alone = evaluate_key_policy({"Statement": [allow]}, key_arn=KEY_ARN, account_id=ACCOUNT)
    access = evaluate_key_policy({"Statement": [allow, deny]}, key_arn=KEY_ARN, account_id=ACCOUNT)
    assert access.grants == alone.grants and Capability.DECRYPT in alone.grants[0].capabilities
    only = evaluate_key_policy(
        {"Statement": [{**allow, "Resource": "\ue001\ue003"}]}, key_arn=KEY_ARN, account_id=ACCOUNT
    )
    assert only.grants == ()  # nor does an Allow for such a Resource reach the key


@pytest.mark.parametrize(
    "document",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"Statement": ' + "[" * 5_000 + "]" * 5_000 + "}",
        '{"Statement": [{"Effect": "Allow", "Sid": ' + '{"a": ' * 40 + "1" + "}" * 40 + "}]}",
    ],
    ids=["deep-array", "deep-statement", "deep-sid"],
)
def test_deep_nesting_is_a_parse_error(document: str) -> None:
    with (
        time_limit(LIMIT_SECONDS),
        pytest.raises(PolicyParseError, match=r"^key policy is nested deeper than 32 levels$"),
    ):
        evaluate_key_policy(document, key_arn=KEY_ARN, account_id=ACCOUNT)


def test_a_document_that_contains_itself_is_a_parse_error() -> None:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}
    statement["Condition"] = {"StringEquals": statement}
    with (
        time_limit(LIMIT_SECONDS),
        pytest.raises(PolicyParseError, match="identity policy 'loop' is nested deeper"),
    ):
        evaluate_identity_policies([("loop", {"Statement": [statement]})], key_arn=KEY_ARN)


def test_huge_but_flat_policies_are_evaluated() -> None:
    statements_ = [
        {"Sid": f"s{i}", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/r{i}"},
         "Action": ["kms:Decrypt", "kms:Encrypt"], "Resource": [f"arn:aws:kms:*:{ACCOUNT}:key/*"] * 10}
        for i in range(2_000)
    ]  # fmt: skip
    with time_limit(LIMIT_SECONDS):
        access = evaluate_key_policy(
            json.dumps({"Statement": statements_}), key_arn=KEY_ARN, account_id=ACCOUNT
        )
    assert len(access.grants) == 2_000
