"""Shared by the rules that judge broad grants: bindings attached to a scope itself or to a folder,
organization or management group above it (``ScopeLevel.is_broad``), which apply to every key there.

Not a rule (the engine skips modules starting with ``_``). Everything here is pure and ordered
deterministically, so a verdict and its evidence never depend on the order of the bindings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from rules._access import MAX_NAMED
from scanner.inventory import AccessBinding, Capability, Scope, ScopeAspect
from scanner.rule import Context, RuleResult, Status

BroadIndex = Mapping[str, list[AccessBinding]]

_READ_ASPECTS = (ScopeAspect.ACCESS, ScopeAspect.HIERARCHY)


class Grant(NamedTuple):
    """One distinct broad grant, as compared, deduplicated and sorted (a plain tuple underneath)."""

    principal: str
    target: str
    level: str
    source: str
    via: str  # "" when unset, so grants sort
    inherited_from: str  # "" when unset
    conditional: bool
    capabilities: tuple[str, ...]  # the listed capabilities only; () when a rule lists none


def broad_index(ctx: Context, capabilities: frozenset[Capability]) -> dict[str, list[AccessBinding]]:
    """Broad bindings carrying any of ``capabilities``, by the uid they were granted at (one pass).

    A grant made at a broad level but recorded on the stores it reaches (an Azure subscription-wide role
    whose data actions apply to RBAC vaults only) is indexed under the scope it was inherited from, so it
    still counts as broad there; other bindings are indexed under their own (broad) target.
    """
    broad: dict[str, list[AccessBinding]] = defaultdict(list)
    for binding in ctx.inventory.bindings:
        if capabilities.isdisjoint(binding.capabilities):
            continue
        if binding.level.is_broad:
            broad[binding.target].append(binding)
        elif binding.inherited_from:
            broad[binding.inherited_from].append(binding)
    return broad


def broad_grants(
    scope: Scope, broad: BroadIndex, listed: frozenset[Capability] = frozenset()
) -> tuple[list[str], set[Grant]]:
    """The uids a broad grant may target to reach ``scope`` (itself, then its parents) and the grants there.

    A grant keeps only the ``listed`` capabilities of its binding; bindings that differ in nothing
    else count once.
    """
    targets = list(dict.fromkeys((scope.uid, *(parent.uid for parent in scope.parents))))
    grants: set[Grant] = set()
    for target in targets:
        for binding in broad.get(target, ()):
            grants.add(
                Grant(
                    binding.principal,
                    binding.target,
                    binding.level.value,
                    binding.source.value,
                    binding.via or "",
                    binding.inherited_from or "",
                    binding.conditional,
                    tuple(sorted(c.value for c in binding.capabilities & listed)),
                )
            )
    return targets, grants


def grant_entry(ctx: Context, grant: Grant, *, capabilities: bool = False) -> dict[str, Any]:
    """Evidence for one grant; with ``capabilities`` also the listed capabilities, after the kind."""
    entry: dict[str, Any] = {"uid": grant.principal, "kind": ctx.principal(grant.principal).kind.value}
    if capabilities:
        entry["capabilities"] = list(grant.capabilities)
    entry.update(
        source=grant.source,
        via=grant.via or None,
        level=grant.level,
        target=grant.target,
        inherited_from=grant.inherited_from or None,
        conditional=grant.conditional,
    )
    return entry


def unreadable_phrases(scope: Scope) -> list[str]:
    """What could not be read of the broad access reaching ``scope``, for messages."""
    missing = []
    if ScopeAspect.ACCESS in scope.unreadable:
        missing.append("the scope-wide access bindings")
    if ScopeAspect.HIERARCHY in scope.unreadable:
        missing.append("the access inherited from its parents")
    return missing


def unreadable_aspects(scope: Scope) -> list[str]:
    """The unreadable aspects of ``scope`` that broad grants depend on, for evidence."""
    return sorted(a.value for a in scope.unreadable if a in _READ_ASPECTS)


def incomplete_note(missing: list[str]) -> str:
    """Appended to a failure when part of the broad access could not be read; empty otherwise."""
    return f" (the list may be incomplete: {' and '.join(missing)} could not be read)" if missing else ""


def unknown_scope_result(
    scope: Scope, missing: list[str], question: str, evidence: Mapping[str, Any]
) -> RuleResult:
    """UNKNOWN verdict: ``missing`` parts of the scope's access could not be read to answer ``question``."""
    return RuleResult.for_scope(
        scope,
        Status.UNKNOWN,
        f"Could not read {' and '.join(missing)} of scope {scope.uid}, so {question} cannot be judged; "
        "grant the scanner read access to them.",
        **evidence,
    )


def name_listed(uids: Iterable[str]) -> str:
    """``a, b, c and 4 more`` from already sorted uids (``a, b`` when there are no more)."""
    ordered = list(uids)
    shown = ordered[:MAX_NAMED]
    rest = len(ordered) - len(shown)
    return ", ".join(shown) + (f" and {rest} more" if rest else "")
