"""Shared by the segregation-of-duties rules: which keys they judge, whether a key's effective access
was read completely, who administers or uses a key, and the evidence that explains a verdict.

Not a rule (the engine skips modules starting with ``_``). Everything here is pure and ordered
deterministically, so a verdict and its evidence never depend on the order of the bindings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from scanner.inventory import (
    ADMIN_CAPABILITIES,
    USE_CAPABILITIES,
    Capability,
    Key,
    KeyAspect,
    KeyState,
    KeyStoreAspect,
    PrincipalKind,
    ScopeAspect,
)
from scanner.policy import Role
from scanner.rule import Context, RuleResult, Status

# Longest list of principals (and of sources per principal) an evidence record holds.
MAX_LISTED = 50
# Principals named in a message before "and N more".
MAX_NAMED = 3

Access = Mapping[str, frozenset[Capability]]

# Enum ``.value`` is a descriptor call; this read-only table makes evidence for 100,000 keys cheap.
_CAPABILITY_VALUE: Mapping[Capability, str] = {cap: cap.value for cap in Capability}


def judged_keys(ctx: Context) -> Iterator[Key]:
    """Customer keys whose access still matters: destroyed keys get no result."""
    return (key for key in ctx.customer_keys() if key.state is not KeyState.DESTROYED)


@dataclass(frozen=True, slots=True)
class Gap:
    """One part of a key's effective access that could not be read."""

    resource: str  # "key", "key_store" or "scope"
    uid: str
    aspect: str
    phrase: str

    def as_evidence(self) -> dict[str, str]:
        return {"resource": self.resource, "uid": self.uid, "aspect": self.aspect}


def access_gaps(ctx: Context, key: Key) -> list[Gap]:
    """What could not be read of the bindings that apply to ``key``; empty when its access is complete."""
    gaps: list[Gap] = []
    if KeyAspect.ACCESS in key.unreadable:
        gaps.append(Gap("key", key.uid, KeyAspect.ACCESS.value, "the key's own policy and bindings"))
    if key.store is not None:
        store = ctx.inventory.store_by_uid.get(key.store)
        if store is not None and KeyStoreAspect.ACCESS in store.unreadable:
            gaps.append(
                Gap(
                    "key_store", store.uid, KeyStoreAspect.ACCESS.value, f"the access bindings of {store.uid}"
                )
            )
    scope = ctx.inventory.scope_by_uid.get(key.scope)
    if scope is None:
        gaps.append(Gap("scope", key.scope, "record", f"scope {key.scope} (absent from the inventory)"))
        return gaps
    if ScopeAspect.ACCESS in scope.unreadable:
        gaps.append(
            Gap(
                "scope", scope.uid, ScopeAspect.ACCESS.value, f"the scope-wide access bindings of {scope.uid}"
            )
        )
    if ScopeAspect.HIERARCHY in scope.unreadable:
        gaps.append(
            Gap(
                "scope",
                scope.uid,
                ScopeAspect.HIERARCHY.value,
                f"the access inherited from the parents of {scope.uid}",
            )
        )
    return gaps


def unknown_result(key: Key, gaps: list[Gap], question: str) -> RuleResult:
    """UNKNOWN verdict: part of the key's access is missing, so ``question`` cannot be answered."""
    missing = "; ".join(gap.phrase for gap in gaps)
    return RuleResult.for_key(
        key,
        Status.UNKNOWN,
        f"Could not read {missing} for key {key.uid}, so {question} cannot be judged; "
        "grant the scanner read access to them and scan again.",
        unreadable=[gap.as_evidence() for gap in gaps],
    )


def holders(access: Access, capabilities: frozenset[Capability]) -> dict[str, frozenset[Capability]]:
    """The principals holding at least one of ``capabilities``, with all their capabilities."""
    return {uid: caps for uid, caps in access.items() if caps & capabilities}


def administrators(access: Access) -> dict[str, frozenset[Capability]]:
    return holders(access, ADMIN_CAPABILITIES)


def users(access: Access) -> dict[str, frozenset[Capability]]:
    return holders(access, USE_CAPABILITIES)


def cap_values(capabilities: frozenset[Capability]) -> list[str]:
    """Sorted capability names (a fresh list; the sorting is memoised per distinct set)."""
    return list(_sorted_names(capabilities))


@lru_cache(maxsize=4096)
def _sorted_names(capabilities: frozenset[Capability]) -> tuple[str, ...]:
    return tuple(sorted(map(_CAPABILITY_VALUE.__getitem__, capabilities)))


def name_principals(uids: Iterable[str]) -> str:
    """``a, b and c`` or ``a, b, c and 4 more`` (sorted, so the message is stable)."""
    ordered = sorted(uids)
    shown = ordered[:MAX_NAMED]
    rest = len(ordered) - len(shown)
    if rest:
        return f"{', '.join(shown)} and {rest} more"
    if len(shown) <= 1:
        return "".join(shown)
    return f"{', '.join(shown[:-1])} and {shown[-1]}"


def principal_entries(
    ctx: Context,
    key: Key,
    selected: Access,
    *,
    provenance: bool = False,
    relevant: frozenset[Capability] = ADMIN_CAPABILITIES | USE_CAPABILITIES,
) -> list[dict[str, Any]]:
    """Evidence for up to MAX_LISTED of ``selected`` principals, sorted by uid.

    Each entry holds the principal's uid, kind and capabilities; with ``provenance`` also the
    bindings (source, level, target, ...) that gave it any of the ``relevant`` capabilities. Only
    failing keys ask for provenance: it costs a second pass over the key's bindings.
    """
    listed = sorted(selected)[:MAX_LISTED]
    entries = [_entry(uid, ctx.principal(uid).kind, selected[uid]) for uid in listed]
    if not provenance:
        return entries
    found = _provenance(ctx, key, set(listed), relevant)
    detailed = []
    for entry in entries:
        sources = found[entry["uid"]]
        detailed.append({**entry, "sources": sources[:MAX_LISTED], "source_count": len(sources)})
    return detailed


@lru_cache(maxsize=65536)
def _entry(uid: str, kind: PrincipalKind, capabilities: frozenset[Capability]) -> dict[str, Any]:
    """One principal's evidence entry. Memoised: the same principal with the same capabilities recurs
    on many keys, and the entry only ever goes into evidence (never mutated; copied to extend)."""
    return {"uid": uid, "kind": kind, "capabilities": cap_values(capabilities)}


def _provenance(
    ctx: Context, key: Key, uids: set[str], relevant: frozenset[Capability]
) -> dict[str, list[dict[str, Any]]]:
    """Per principal, the bindings that gave it any ``relevant`` capability, deduplicated and sorted.

    Entries are compact for large estates: ``target`` only when it is not the key itself, and
    ``inherited_from``, ``via``, ``conditional`` only when set.
    """
    rows: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {uid: {} for uid in uids}
    for binding in ctx.inventory.bindings_for(key):
        found = rows.get(binding.principal)
        if found is None or not binding.capabilities & relevant:
            continue
        identity = (
            binding.level,
            binding.source,
            binding.target,
            binding.inherited_from or "",
            binding.via or "",
            binding.conditional,
            binding.capabilities,
        )
        if identity in found:
            continue
        entry: dict[str, Any] = {
            "source": binding.source,
            "level": binding.level,
            "capabilities": cap_values(binding.capabilities),
        }
        if binding.target != key.uid:
            entry["target"] = binding.target
        if binding.inherited_from:
            entry["inherited_from"] = binding.inherited_from
        if binding.via:
            entry["via"] = binding.via
        if binding.conditional:
            entry["conditional"] = True
        found[identity] = entry
    return {
        uid: [found[identity] for identity in sorted(found, key=_identity_order)]
        for uid, found in rows.items()
    }


def _identity_order(identity: tuple[Any, ...]) -> tuple[Any, ...]:
    return identity[:6]


def declared_matcher(ctx: Context, role: Role) -> Callable[[str], bool]:
    """Whether a principal is declared in ``role``, matched on its uid and aliases, once per principal."""
    cache: dict[str, bool] = {}

    def declared(uid: str) -> bool:
        known = cache.get(uid)
        if known is None:
            principal = ctx.principal(uid)
            known = cache[uid] = role.declares(principal.uid, *principal.aliases)
        return known

    return declared


def judge_declared(
    ctx: Context,
    *,
    capabilities: frozenset[Capability],
    role: Role,
    role_name: str,
    holder_noun: str,
) -> Iterator[RuleResult]:
    """PASS when every holder of ``capabilities`` on a key is declared in ``role``; FAIL naming the others.

    ``holder_noun`` is what a holder is called in messages ("administrator", "user"); the policy key is
    ``roles.<role_name>``. Declarations are matched on the principal's uid and aliases, once per principal.
    """
    declared = declared_matcher(ctx, role)
    people = sorted(role.people)
    for key in judged_keys(ctx):
        gaps = access_gaps(ctx, key)
        if gaps:
            yield unknown_result(key, gaps, f"whether every {holder_noun} is declared in roles.{role_name}")
            continue
        holding = holders(ctx.inventory.effective_access(key), capabilities)
        undeclared = {uid: caps for uid, caps in holding.items() if not declared(uid)}
        evidence: dict[str, Any] = {
            f"{holder_noun}_count": len(holding),
            f"undeclared_{holder_noun}_count": len(undeclared),
        }
        if not undeclared:
            evidence[f"{holder_noun}s"] = principal_entries(ctx, key, holding)
            summary = (
                f"all {len(holding)} {holder_noun}(s) are declared"
                if holding
                else f"it has no {holder_noun}s"
            )
            yield RuleResult.for_key(
                key, Status.PASS, f"Key {key.uid}: {summary} in roles.{role_name}.", **evidence
            )
            continue
        evidence[f"undeclared_{holder_noun}s"] = principal_entries(
            ctx, key, undeclared, provenance=True, relevant=capabilities
        )
        empty = " (the role declares nobody)" if not people else ""
        yield RuleResult.for_key(
            key,
            Status.FAIL,
            f"Key {key.uid} has {holder_noun}(s) not declared in roles.{role_name}{empty}: "
            f"{name_principals(undeclared)}; declare them in the policy or remove their access.",
            **evidence,
        )
