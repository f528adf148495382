"""GCP IAM allow policies and audit configs, normalised for one resource (pure: no SDK import, no I/O).

Input is the JSON shape of a ``getIamPolicy`` response (Cloud KMS key or key ring, project, folder or
organization), policy version 1 or 3, as REST returns it (camelCase) or as a proto-plus ``to_dict``
gives it (snake_case keys, enums as names or numbers)::

    {"version": 3, "etag": "...",
     "bindings": [{"role": "roles/...", "members": ["user:a@example.com"], "condition": {...}}],
     "auditConfigs": [{"service": "allServices",
                       "auditLogConfigs": [{"logType": "DATA_READ", "exemptedMembers": [...]}]}]}

* ``normalize_policy``: one ``MemberGrant`` per (member, role, conditional) of the policy, sorted, so the
  order of bindings and members never changes the result. A role this module cannot resolve gives
  ``capabilities=None``: the caller reports UNKNOWN, never "no access".
* ``kms_audit_logging``: which Data Access log types are on for ``cloudkms.googleapis.com``;
  ``merge_audit_configs``: the effective audit configs of a resource from those of its ancestors.

Audit log types of Cloud KMS (cloud.google.com/kms/docs/audit-logging, "Methods by permission type"):
methods are logged by the type of the permission they check. Changes (create, update, rotate,
enable/disable, destroy, restore, setIamPolicy) are ADMIN_WRITE, i.e. Admin Activity audit logs, which
are always written and cannot be disabled, so key administration is always logged. Get*/List*/
GetIamPolicy and VerifyConnectivity are ADMIN_READ. The cryptographic operations (Encrypt, Decrypt,
AsymmetricSign, AsymmetricDecrypt, MacSign, MacVerify, RawEncrypt, RawDecrypt, ...) check the
``useTo*`` permissions, which are of type DATA_READ ("reads of user-provided data": the key material):
key *use* is logged only where DATA_READ is enabled for the service. Data Access logs are off by
default for Cloud KMS.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple

from providers.gcp.permissions import capabilities_for_role
from scanner.inventory import Capability, PrincipalKind

__all__ = [
    "ALL_SERVICES",
    "KMS_SERVICE",
    "LOG_TYPES",
    "IamPolicyError",
    "KmsAuditLogging",
    "MemberGrant",
    "audit_configs",
    "base_role",
    "is_service_agent",
    "kms_audit_logging",
    "member_kind",
    "merge_audit_configs",
    "normalize_policy",
]

KMS_SERVICE = "cloudkms.googleapis.com"
ALL_SERVICES = "allServices"
# The configurable Data Access log types. ADMIN_WRITE (Admin Activity) is not configurable: always on.
LOG_TYPES: tuple[str, ...] = ("ADMIN_READ", "DATA_READ", "DATA_WRITE")
# google.iam.v1.AuditLogConfig.LogType numbers, for dicts made with integer enums.
_LOG_TYPE_NUMBERS = {1: "ADMIN_READ", 2: "DATA_WRITE", 3: "DATA_READ"}

_NO_ROLES: Mapping[str, Iterable[str]] = MappingProxyType({})


class IamPolicyError(ValueError):
    """An IAM policy or audit config does not have the documented shape."""


class MemberGrant(NamedTuple):
    """One member's grant through one binding of one resource's allow policy."""

    member: str  # the member string as the policy spells it (the Principal uid)
    kind: PrincipalKind
    capabilities: frozenset[Capability] | None  # None: the role is unknown (UNKNOWN, not "no access")
    conditional: bool  # the binding carries an IAM condition
    role: str  # the role name, without a version-1 ``_withcond_`` suffix


# ------------------------------------------------------------------------------------------ members
# Google-managed service agents (cloud.google.com/iam/docs/service-agents): per-service agents live in
# Google-owned projects whose domain starts with gcp-sa- (service-PROJECT_NUMBER@gcp-sa-cloudkms...,
# also service-org-N@ / service-folder-N@ and p<N>-<M>@gcp-sa-logging...); older agents use
# service-PROJECT_NUMBER@<google-project>.iam.gserviceaccount.com (compute-system, gs-project-accounts,
# container-engine-robot, ...), and a few have fixed domains. User-managed service accounts
# (NAME@PROJECT_ID.iam.gserviceaccount.com) and the default service accounts anyone with actAs can run
# as (N-compute@developer..., PROJECT_ID@appspot...) are not agents.
_SERVICE_AGENT_DOMAINS = frozenset(
    {
        "cloudservices.gserviceaccount.com",  # Google APIs Service Agent: N@cloudservices...
        "system.gserviceaccount.com",
        "bigquery-encryption.iam.gserviceaccount.com",  # bq-N@bigquery-encryption... (CMEK)
    }
)
_NUMBERED_AGENT = re.compile(r"service-(?:org-|folder-)?\d{6,}")


def is_service_agent(email: str) -> bool:
    """Whether a service account email is a Google-managed service agent (not usable by customers)."""
    local, _, domain = email.strip().lower().rpartition("@")
    if not local or not domain.endswith("gserviceaccount.com"):
        return False
    if domain in _SERVICE_AGENT_DOMAINS:
        return True
    if not domain.endswith(".iam.gserviceaccount.com"):
        return False
    return domain.startswith("gcp-sa-") or _NUMBERED_AGENT.fullmatch(local) is not None


_PREFIX_KINDS: tuple[tuple[str, PrincipalKind], ...] = (
    ("user:", PrincipalKind.USER),
    ("group:", PrincipalKind.GROUP),
    ("domain:", PrincipalKind.GROUP),  # every identity of a Google Workspace / Cloud Identity domain
    ("deleted:", PrincipalKind.UNKNOWN),  # a deleted user, group or service account still bound
    # Convenience values: the owners / editors / viewers of a project, as a group.
    ("projectOwner:", PrincipalKind.GROUP),
    ("projectEditor:", PrincipalKind.GROUP),
    ("projectViewer:", PrincipalKind.GROUP),
)


def member_kind(member: str) -> PrincipalKind:
    """The principal kind of an IAM member string (cloud.google.com/iam/docs/principal-identifiers)."""
    if member == "allUsers":
        return PrincipalKind.PUBLIC
    if member == "allAuthenticatedUsers":
        return PrincipalKind.AUTHENTICATED_ANY
    if member.startswith("serviceAccount:"):
        email = member.removeprefix("serviceAccount:")
        return PrincipalKind.SERVICE if is_service_agent(email) else PrincipalKind.ROLE
    for prefix, kind in _PREFIX_KINDS:
        if member.startswith(prefix):
            return kind
    if member.startswith("principalSet://"):
        # Identity federation sets (a whole pool, a group or attribute of a pool, a Kubernetes
        # namespace...); principalSet://goog/public:all is everyone, the deny-policy spelling of allUsers.
        return PrincipalKind.PUBLIC if member == "principalSet://goog/public:all" else PrincipalKind.GROUP
    if member.startswith("principal://"):
        # One federated identity: a person of a workforce pool (or principal://goog/subject/EMAIL), or a
        # workload (workload identity pool subject, Kubernetes service account, agent identity).
        if "/workforcePools/" in member or member.startswith("principal://goog/subject/"):
            return PrincipalKind.USER
        return PrincipalKind.ROLE
    return PrincipalKind.UNKNOWN


# ----------------------------------------------------------------------------------------- bindings
# A version-1 read of a policy with conditional bindings returns each such role as
# "<role>_withcond_<hash>" without the condition (cloud.google.com/iam/docs/policies#versions).
_WITHCOND = re.compile(r"(?P<role>.+)_withcond_[0-9A-Za-z]+")


def base_role(role: str) -> tuple[str, bool]:
    """The role name without a ``_withcond_`` suffix, and whether there was one."""
    matched = _WITHCOND.fullmatch(role)
    return (matched["role"], True) if matched else (role, False)


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise IamPolicyError(f"{what} must be a list, not {type(value).__name__}")
    return list(value)


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise IamPolicyError(f"{what} must be an object, not {type(value).__name__}")
    return value


def _has_condition(binding: Mapping[str, Any], where: str) -> bool:
    condition = binding.get("condition")
    if condition is None:
        return False
    condition = _mapping(condition, f"{where}.condition")
    # An empty message (every field default, as some to_dict() calls render an unset condition) is no
    # condition; anything with an expression restricts the binding.
    return bool(condition.get("expression"))


def normalize_policy(
    policy: Mapping[str, Any] | None, custom_roles: Mapping[str, Iterable[str]] = _NO_ROLES
) -> list[MemberGrant]:
    """Every (member, role, conditional) grant of one allow policy, with the role's capabilities.

    ``custom_roles``: role definitions the collector read (see ``capabilities_for_role``). The result is
    sorted by member, role and conditional, and holds each grant once.
    """
    if policy is None:
        return []
    policy = _mapping(policy, "policy")
    grants: set[MemberGrant] = set()
    resolved: dict[str, frozenset[Capability] | None] = {}
    for index, raw in enumerate(_list(policy.get("bindings"), "policy.bindings")):
        where = f"policy.bindings[{index}]"
        binding = _mapping(raw, where)
        role_name = binding.get("role")
        if not isinstance(role_name, str) or not role_name:
            raise IamPolicyError(f"{where}.role must be a non-empty string")
        role, withcond = base_role(role_name)
        conditional = withcond or _has_condition(binding, where)
        if role not in resolved:
            resolved[role] = capabilities_for_role(role, custom_roles)
        for position, member in enumerate(_list(binding.get("members"), f"{where}.members")):
            if not isinstance(member, str) or not member:
                raise IamPolicyError(f"{where}.members[{position}] must be a non-empty string")
            if member.startswith("deleted:"):
                # A deleted user, group or service account: the binding is inert (a new identity with the
                # same name does not inherit it), so it must not count as an administrator or user.
                continue
            grants.add(MemberGrant(member, member_kind(member), resolved[role], conditional, role))
    return sorted(grants, key=lambda g: (g.member, g.role, g.conditional))


# ------------------------------------------------------------------------------------ audit configs
def audit_configs(policy: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """The ``auditConfigs`` of a policy (``audit_configs`` in snake_case dicts); [] when it has none."""
    if policy is None:
        return []
    policy = _mapping(policy, "policy")
    value = policy.get("auditConfigs", policy.get("audit_configs"))
    return [_mapping(c, f"policy.auditConfigs[{i}]") for i, c in enumerate(_list(value, "auditConfigs"))]


def _log_type(value: Any, where: str) -> str | None:
    """The log type's name, or None for LOG_TYPE_UNSPECIFIED and types this module does not know."""
    if isinstance(value, bool):
        raise IamPolicyError(f"{where} must be a log type name or number")
    if isinstance(value, int):
        return _LOG_TYPE_NUMBERS.get(value)
    if isinstance(value, str):
        return value if value in LOG_TYPES else None
    raise IamPolicyError(f"{where} must be a log type name or number")


def _service_log_types(
    configs: Iterable[Mapping[str, Any]], where: str
) -> Iterable[tuple[str, str, frozenset[str]]]:
    """(service, log type, exempted members) for every audit log config of the configs."""
    for index, raw in enumerate(configs):
        here = f"{where}[{index}]"
        config = _mapping(raw, here)
        service = config.get("service")
        if not isinstance(service, str) or not service:
            raise IamPolicyError(f"{here}.service must be a non-empty string")
        log_configs = config.get("auditLogConfigs", config.get("audit_log_configs"))
        for position, raw_log in enumerate(_list(log_configs, f"{here}.auditLogConfigs")):
            log_where = f"{here}.auditLogConfigs[{position}]"
            log_config = _mapping(raw_log, log_where)
            log_type = _log_type(
                log_config.get("logType", log_config.get("log_type")), f"{log_where}.logType"
            )
            if log_type is None:
                continue
            exempted = _list(
                log_config.get("exemptedMembers", log_config.get("exempted_members")),
                f"{log_where}.exemptedMembers",
            )
            if not all(isinstance(m, str) for m in exempted):
                raise IamPolicyError(f"{log_where}.exemptedMembers must be strings")
            yield service, log_type, frozenset(exempted)


def merge_audit_configs(levels: Iterable[Iterable[Mapping[str, Any]] | None]) -> list[dict[str, Any]]:
    """The effective audit configs of a resource from the configs of it and its ancestors.

    Audit configs are additive down the hierarchy (cloud.google.com/logging/docs/audit/configure-data-access:
    a log type enabled on the organization or a folder cannot be disabled below it), and within one policy
    the configs of ``allServices`` and of a service are united (google.iam.v1.AuditConfig). Both are a
    union: of the log types per service, and of the exempted members per log type (an exemption anywhere
    is reported, the safe side). Levels that were not read are the caller's to report; ``None`` here is
    "no audit configs". The result is canonical (REST spelling, sorted) and order-independent.
    """
    merged: dict[str, dict[str, set[str]]] = {}
    for level, configs in enumerate(levels):
        entries = _service_log_types(_list(configs, f"levels[{level}]"), f"levels[{level}]")
        for service, log_type, exempted in entries:
            merged.setdefault(service, {}).setdefault(log_type, set()).update(exempted)
    return [
        {
            "service": service,
            "auditLogConfigs": [
                {"logType": log_type, "exemptedMembers": sorted(members)}
                if members
                else {"logType": log_type}
                for log_type, members in sorted(types.items())
            ],
        }
        for service, types in sorted(merged.items())
    ]


@dataclass(frozen=True, slots=True)
class KmsAuditLogging:
    """Which Data Access audit logs are on for Cloud KMS, from the audit configs that were given."""

    admin_read_logged: bool  # Get*/List*/GetIamPolicy
    data_read_logged: bool  # the cryptographic operations (key use)
    data_write_logged: bool
    # Log type -> members exempted from it (only for log types that are on).
    exempted_members: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # The configs that applied: "allServices" and/or "cloudkms.googleapis.com".
    services: tuple[str, ...] = ()

    @property
    def admin_write_logged(self) -> bool:
        """Admin Activity (key administration) audit logs are always written and cannot be disabled."""
        return True

    @property
    def key_use_logged(self) -> bool:
        """Encrypt/decrypt/sign calls are logged (for every member not exempted from DATA_READ)."""
        return self.data_read_logged

    @property
    def complete(self) -> bool:
        """All three Data Access log types on, nobody exempted (CIS GCP 2.1 for Cloud KMS)."""
        return (
            self.admin_read_logged
            and self.data_read_logged
            and self.data_write_logged
            and not any(self.exempted_members.values())
        )


def kms_audit_logging(configs: Iterable[Mapping[str, Any]] | None) -> KmsAuditLogging:
    """Cloud KMS Data Access logging from a list of audit configs (one policy's, or merged ones).

    Configs of ``cloudkms.googleapis.com`` and of ``allServices`` both apply; others are ignored.
    """
    enabled: dict[str, set[str]] = {}
    services: set[str] = set()
    for service, log_type, exempted in _service_log_types(_list(configs, "auditConfigs"), "auditConfigs"):
        if service not in (KMS_SERVICE, ALL_SERVICES):
            continue
        services.add(service)
        enabled.setdefault(log_type, set()).update(exempted)
    return KmsAuditLogging(
        admin_read_logged="ADMIN_READ" in enabled,
        data_read_logged="DATA_READ" in enabled,
        data_write_logged="DATA_WRITE" in enabled,
        exempted_members={t: frozenset(m) for t, m in sorted(enabled.items()) if m},
        services=tuple(sorted(services)),
    )
