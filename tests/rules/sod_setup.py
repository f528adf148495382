"""Setup shared by the segregation-of-duties rule tests: common principals, a key and ``run`` helpers.

Not a test module (no ``test_`` prefix): the rule tests import from it.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from scanner.inventory import (
    AccessBinding,
    BindingSource,
    Capability,
    Key,
    KeyAspect,
    ScopeAspect,
    ScopeLevel,
)
from tests.factories import ACCOUNT, binding, context, inventory, key, results_by_uid, scope

K1 = key("k1")
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/KeyAdmin"
APP = f"arn:aws:iam::{ACCOUNT}:role/App"

# A key rule's results for a key whose own access, scope-wide access or inherited access is unreadable.
UNREADABLE_ACCESS = [
    pytest.param({"keys": (key("k1", unreadable=frozenset({KeyAspect.ACCESS})),)}, id="key-access"),
    pytest.param({"scopes": (scope(unreadable=frozenset({ScopeAspect.ACCESS})),)}, id="scope-access"),
    pytest.param({"scopes": (scope(unreadable=frozenset({ScopeAspect.HIERARCHY})),)}, id="scope-hierarchy"),
]

Results = dict[str, Any]


def key_runner(rule: ModuleType, default_policy: dict[str, Any] | None = None) -> Callable[..., Results]:
    """``run(*bindings, keys=(K1,), policy=None, policy_file=True, **inventory)``: ``rule``'s results by uid.

    ``default_policy`` is the CEK policy mapping used when a call gives no ``policy`` (None: empty).
    """

    def run(
        *bindings: AccessBinding,
        keys: tuple[Key, ...] = (K1,),
        policy: dict[str, Any] | None = None,
        policy_file: bool = True,
        **inv: Any,
    ) -> Results:
        document = default_policy if policy is None else policy
        ctx = context(inventory(keys=keys, bindings=bindings, **inv), document, policy_file=policy_file)
        return results_by_uid(rule.evaluate(ctx))

    return run


def scope_runner(rule: ModuleType) -> Callable[..., Results]:
    """``results(policy=None, **inventory)``: ``rule``'s results by uid."""

    def results(policy: dict[str, Any] | None = None, **inv: Any) -> Results:
        return results_by_uid(rule.evaluate(context(inventory(**inv), policy)))

    return results


def identity_policy(principal_uid: str, *capabilities: Capability, **kw: Any) -> AccessBinding:
    """An identity policy granting ``capabilities`` on every key of ACCOUNT (``Resource: "*"``)."""
    kw.setdefault("level", ScopeLevel.SCOPE)
    kw.setdefault("source", BindingSource.IDENTITY_POLICY)
    return binding(principal_uid, ACCOUNT, *capabilities, **kw)
