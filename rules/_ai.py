"""Shared by the AI-workload rules: which keys protect AI workloads, and whether that picture is complete.

Not a rule (the engine skips modules starting with ``_``). Pure.
"""

from __future__ import annotations

from collections.abc import Iterator

from scanner.inventory import AiKeyUse, Key, KeyState, ProtectedResource, ResourceAspect, ScopeAspect
from scanner.rule import Context

MAX_LISTED = 50


def ai_keys(ctx: Context) -> Iterator[tuple[Key, AiKeyUse]]:
    """Customer keys (not destroyed) that protect AI workloads, in a stable order."""
    use = ctx.inventory.ai_key_use
    if not use:
        return
    for key in sorted(ctx.customer_keys(), key=lambda k: k.uid):
        found = use.get(key.uid)
        if found is not None and key.state is not KeyState.DESTROYED:
            yield key, found


def ai_resources(ctx: Context) -> list[ProtectedResource]:
    return sorted((r for r in ctx.inventory.resources if r.is_ai), key=lambda r: r.uid)


def ai_listing_incomplete(ctx: Context, scope_uid: str) -> bool:
    """The scope's AI resources could not all be listed: a key's AI use there may be missing."""
    scope = ctx.inventory.scope_by_uid.get(scope_uid)
    return scope is not None and ScopeAspect.AI_RESOURCES in scope.unreadable


def use_evidence(use: AiKeyUse) -> dict[str, object]:
    return {
        "ai_services": list(use.services),
        "ai_resources": list(use.resources[:MAX_LISTED]),
        "ai_resource_count": len(use.resources),
        "ai_principals": list(use.principals[:MAX_LISTED]),
    }


def tenant_of(resource: ProtectedResource, tag: str | None) -> str | None:
    """The tenant an AI resource belongs to: the policy's tenant tag, else its account/project/subscription;
    None when the tag matters and the resource's tags could not be read."""
    if tag:
        value = resource.tags.get(tag)
        if value is None:  # tag keys differ in case across clouds (GCP labels are lower case)
            value = next((v for k, v in resource.tags.items() if k.lower() == tag.lower()), None)
        if value:
            return f"{tag}={value}"
        if ResourceAspect.TAGS in resource.unreadable:
            return None
    return f"scope={resource.scope}"
