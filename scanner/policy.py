"""The organisation's CEK policy file (SPEC 6): thresholds, declared roles and review dates."""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError, field_validator

from scanner.errors import InputError
from scanner.yamlfile import LocatedDocument, display_path, load_located_yaml, readable

KeyOriginName = Literal["generated", "imported", "external"]


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _text(value: Any) -> Any:
    # YAML reads `version: 1.2` as a float and `id: 2026` as an int; both are meant as text.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


class PolicyInfo(_Section):
    id: str | None = None
    version: str | None = None
    owner: str | None = None
    approved_by: str | None = None
    approved_on: date | None = None
    last_reviewed: date | None = None
    review_interval_days: PositiveInt = 365

    _as_text = field_validator("id", "version", "owner", "approved_by", mode="before")(_text)


class Role(_Section):
    members: tuple[str, ...] = ()
    alternates: tuple[str, ...] = ()
    last_reviewed: date | None = None

    @property
    def people(self) -> tuple[str, ...]:
        """Members and alternates, without repeats (who can fill the role)."""
        return tuple(dict.fromkeys((*self.members, *self.alternates)))

    def declares(self, *names: str) -> bool:
        """True when any of ``names`` (a principal's uid and aliases) matches a member or alternate glob."""
        return any(
            fnmatchcase(name.casefold(), pattern.casefold()) for pattern in self.people for name in names
        )


class Roles(_Section):
    key_administrators: Role = Field(default_factory=Role)
    key_users: Role = Field(default_factory=Role)
    auditors: Role = Field(default_factory=Role)

    def items(self) -> list[tuple[str, Role]]:
        return [(name, getattr(self, name)) for name in type(self).model_fields]


class RotationPolicy(_Section):
    max_days: PositiveInt = 365


DEFAULT_CURVES = ("P-256", "P-384", "P-521", "secp256k1")


class AlgorithmPolicy(_Section):
    min_rsa_bits: PositiveInt = 2048
    allowed_curves: tuple[str, ...] = DEFAULT_CURVES
    # Extension: what elliptic-curve keys may be used for (SPEC default: signing only).
    ec_allowed_purposes: tuple[str, ...] = ("sign",)


TagSelector = dict[str, tuple[str, ...]]


def _single_value_is_a_list(value: Any) -> Any:
    """``{classification: secret}`` means ``{classification: [secret]}``."""
    if isinstance(value, Mapping):
        return {k: [v] if isinstance(v, str) else v for k, v in value.items()}
    return value


class ProtectionPolicy(_Section):
    hsm_required_when: TagSelector = Field(default_factory=dict)
    dedicated_hsm_required_when: TagSelector = Field(default_factory=dict)
    min_destroy_scheduled_days: PositiveInt = 30

    _lists = field_validator("hsm_required_when", "dedicated_hsm_required_when", mode="before")(
        _single_value_is_a_list
    )


class SegregationPolicy(_Section):
    min_administrators: PositiveInt = 2
    # Extension: most distinct principals that may use one key (GCP SCC TOO_MANY_KMS_USERS flags more
    # than three); None switches the check off.
    max_key_users: PositiveInt | None = 3


class ReplicationPolicy(_Section):
    """Extension: which keys may be replicated across regions (multi-region keys), by tag/label."""

    multi_region_allowed_when: TagSelector = Field(default_factory=dict)

    _lists = field_validator("multi_region_allowed_when", mode="before")(_single_value_is_a_list)


class ExpirationPolicy(_Section):
    """Extension: the longest validity a key with an expiry may have (None: any, as long as one is set)."""

    max_validity_days: PositiveInt | None = None


class AiWorkloadPolicy(_Section):
    """What keys protecting AI workloads must meet (CSA AICM CEK-01/CEK-02 guidance for AI services)."""

    # AI resources must be encrypted with customer-managed keys, not the provider's own.
    require_customer_managed_keys: bool = True
    # Keys protecting AI workloads must be HSM-backed (hsm, dedicated_hsm or external protection).
    require_hsm: bool = False
    # Their rotation period (or, for material the platform cannot rotate, its age); default rotation.max_days.
    max_rotation_days: PositiveInt | None = None
    # Key origins allowed for them: generated (by the provider), imported (BYOK), external (HYOK).
    allowed_origins: tuple[KeyOriginName, ...] = ("generated", "imported", "external")
    # A key used by an AI service must not also protect non-AI workloads or another tenant's resources.
    dedicated_keys: bool = False
    # The tag / label naming an AI resource's tenant; without it the account/project/subscription is the tenant.
    tenant_tag: str | None = None


class OriginPolicy(_Section):
    """Key material origins allowed for every customer key (BYOK/HYOK policy)."""

    allowed: tuple[KeyOriginName, ...] = ("generated", "imported", "external")


class CekPolicy(_Section):
    policy: PolicyInfo = Field(default_factory=PolicyInfo)
    roles: Roles = Field(default_factory=Roles)
    rotation: RotationPolicy = Field(default_factory=RotationPolicy)
    algorithms: AlgorithmPolicy = Field(default_factory=AlgorithmPolicy)
    protection: ProtectionPolicy = Field(default_factory=ProtectionPolicy)
    segregation: SegregationPolicy = Field(default_factory=SegregationPolicy)
    expiration: ExpirationPolicy = Field(default_factory=ExpirationPolicy)
    replication: ReplicationPolicy = Field(default_factory=ReplicationPolicy)
    origins: OriginPolicy = Field(default_factory=OriginPolicy)
    ai_workloads: AiWorkloadPolicy = Field(default_factory=AiWorkloadPolicy)


def tags_match(selector: Mapping[str, tuple[str, ...]], tags: Mapping[str, str]) -> bool:
    """True when a tag/label named in ``selector`` has one of its values (case-insensitive; ``*`` any)."""
    folded = {k.casefold(): v.casefold() for k, v in tags.items()}
    for key, values in selector.items():
        actual = folded.get(key.casefold())
        if actual is not None and any(fnmatchcase(actual, value.casefold()) for value in values):
            return True
    return False


@dataclass(frozen=True)
class PolicySource:
    path: str
    sha256: str


@dataclass(frozen=True)
class LoadedPolicy:
    """The policy in force: from a file, or the built-in defaults when ``source`` is None."""

    document: CekPolicy
    source: PolicySource | None

    @property
    def present(self) -> bool:
        return self.source is not None


def default_policy() -> LoadedPolicy:
    return LoadedPolicy(document=CekPolicy(), source=None)


def load_policy(path: Path) -> LoadedPolicy:
    """Read and validate a policy file; any problem raises InputError naming file, line and key."""
    located = load_located_yaml(path, what="policy file")
    data = located.data
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(f"{path}:1: policy file must be a mapping of sections, not {type(data).__name__}")
    try:
        document = CekPolicy.model_validate(data)
    except ValidationError as exc:
        raise InputError(describe_validation_error(located, exc, CekPolicy)) from exc
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    # The path goes into every output: shown as text even when the file name is not UTF-8.
    return LoadedPolicy(document=document, source=PolicySource(path=display_path(path), sha256=digest))


def describe_validation_error(located: LocatedDocument, exc: ValidationError, model: type[BaseModel]) -> str:
    """One line per problem: ``file:line: at a.b: what is wrong``; unknown keys get a suggestion."""
    problems = []
    for error in exc.errors():
        loc = tuple(p for p in error["loc"] if isinstance(p, str | int))
        if error["type"] == "extra_forbidden":
            known = _known_keys(model, loc[:-1])
            hint = difflib.get_close_matches(str(loc[-1]), known, n=1)
            suggestion = (
                f" (did you mean '{hint[0]}'?)" if hint else f" (expected one of: {', '.join(known)})"
            )
            key = readable(str(loc[-1]), quote="'")
            problems.append(f"{located.describe(loc)}: unknown key {key}{suggestion}")
        else:
            given = error.get("input")
            shown = f" (got {given!r})" if not isinstance(given, dict | list) else ""
            problems.append(f"{located.describe(loc)}: {error['msg']}{shown}")
    return "\n".join(problems)


def _known_keys(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    current: Any = model
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)) or not isinstance(part, str):
            return []
        field = current.model_fields.get(part)
        if field is None:
            return []
        current = field.annotation
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []
