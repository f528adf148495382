"""The "AI workloads" section of a report: each AI resource, the key protecting it, who can administer
and use that key, and the AI rules' verdicts (``scan.ai_workloads``; terminal, HTML and CAIQ render it).

Built from the inventory (pure) plus the AI rules' findings, collected while findings stream past.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from scanner.findings import Finding
from scanner.inventory import ADMIN_CAPABILITIES, USE_CAPABILITIES, Inventory, Key

AI_RULES = (
    "ai_resource_uses_customer_managed_key",
    "ai_workload_keys_meet_policy",
    "ai_service_not_key_admin",
    "ai_workload_keys_dedicated",
    "key_origin_allowed",
)
MAX_RESOURCES = 500  # listed in the section; the counts cover all
MAX_PRINCIPALS = 20  # administrators / users listed per key


class AiVerdicts:
    """The AI rules' statuses by resource uid (an AI resource or a key), as findings stream past."""

    def __init__(self) -> None:
        self.by_uid: dict[str, dict[str, str]] = {}

    def add(self, finding: Finding) -> None:
        if finding.rule_id in AI_RULES:
            if finding.rule_id == "key_origin_allowed" and not finding.evidence.get("protects_ai_workloads"):
                return  # judged for every key; the section is about the keys behind AI workloads
            verdict = "waived" if finding.waived else finding.status.value
            self.by_uid.setdefault(finding.resource.uid, {})[finding.rule_id] = verdict


def ai_workloads_section(inventory: Inventory, verdicts: AiVerdicts) -> dict[str, Any] | None:
    """``scan.ai_workloads``, or None when the inventory holds no AI workload at all."""
    use = inventory.ai_key_use
    resources = sorted(
        (r for r in inventory.resources if r.is_ai), key=lambda r: (r.provider, r.scope, r.uid)
    )
    if not resources and not use:
        return None
    keys_by_uid = {k.uid: k for k in inventory.keys}
    listed_keys: set[str] = set()
    entries = []
    for resource in resources[:MAX_RESOURCES]:
        keys = []
        for uid in resource.keys:
            listed_keys.add(uid)
            keys.append(_key_entry(inventory, keys_by_uid.get(uid), uid, verdicts))
        entries.append(
            {
                "uid": resource.uid,
                "name": resource.name,
                "type": resource.native_type,
                "provider": resource.provider.value,
                "scope": resource.scope,
                "location": resource.location,
                "ai_service": resource.ai_service,
                "encryption": resource.encryption.value if resource.encryption else None,
                "keys": keys,
                "verdicts": verdicts.by_uid.get(resource.uid, {}),
            }
        )
    # Keys AI services can use without any AI resource naming them (e.g. a service agent's grant).
    access_only = [
        {
            **_key_entry(inventory, keys_by_uid.get(uid), uid, verdicts),
            "ai_services": list(found.services),
            "ai_principals": list(found.principals[:MAX_PRINCIPALS]),
        }
        for uid, found in sorted(use.items())
        if uid not in listed_keys
    ]
    statuses: dict[str, dict[str, int]] = {}
    for by_rule in verdicts.by_uid.values():
        for rule, status in by_rule.items():
            statuses.setdefault(rule, {}).setdefault(status, 0)
            statuses[rule][status] += 1
    return {
        "resource_count": len(resources),
        "resources_listed": len(entries),
        "key_count": len(use),
        "resources": entries,
        "keys_used_by_ai_services_only": access_only[:MAX_RESOURCES],
        "verdict_counts": {rule: statuses.get(rule, {}) for rule in AI_RULES},
    }


def _key_entry(inventory: Inventory, key: Key | None, uid: str, verdicts: AiVerdicts) -> dict[str, Any]:
    if key is None:
        return {"uid": uid, "name": None, "in_inventory": False, "verdicts": verdicts.by_uid.get(uid, {})}
    access = inventory.effective_access(key)
    admins = sorted(p for p, caps in access.items() if not ADMIN_CAPABILITIES.isdisjoint(caps))
    users = sorted(p for p, caps in access.items() if not USE_CAPABILITIES.isdisjoint(caps))
    rotation = key.rotation
    return {
        "uid": uid,
        "name": key.name,
        "in_inventory": True,
        "protection": key.protection.value if key.protection else None,
        "origin": key.origin.value if key.origin else None,
        "rotation_days": rotation.period_days if rotation and rotation.enabled else None,
        "administrators": admins[:MAX_PRINCIPALS],
        "administrator_count": len(admins),
        "users": users[:MAX_PRINCIPALS],
        "user_count": len(users),
        "verdicts": verdicts.by_uid.get(uid, {}),
    }


def verdict_text(verdicts: Mapping[str, str], rules: Iterable[str] = AI_RULES) -> str:
    """ "rule: status" for the rules present, short names, for one table cell."""
    short = {
        "ai_resource_uses_customer_managed_key": "cmk",
        "ai_workload_keys_meet_policy": "policy",
        "ai_service_not_key_admin": "ai-not-admin",
        "ai_workload_keys_dedicated": "dedicated",
        "key_origin_allowed": "origin",
    }
    return ", ".join(f"{short[r]} {verdicts[r]}" for r in rules if r in verdicts) or "-"
