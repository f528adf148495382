"""Evaluation of IAM policy documents for KMS keys (pure: no SDK import, no I/O).

Two entry points:

* ``evaluate_key_policy``: who a key policy gives which capabilities on its key, whether it delegates to
  the account's IAM identity policies (the account root is allowed without a restricting condition), and
  the unconditional denies it holds (which also bind whatever IAM policies grant).
* ``evaluate_identity_policies``: what the identity policies of one principal give it on one key, or on
  every key (``key_arn=None``).

The results are over-approximations of access, the safe side for segregation of duties: wherever the
evaluation cannot be sure, an Allow is taken to apply and a Deny is taken not to (denies carrying any
condition, denies whose resource or principal match is uncertain). Results never depend on statement
order, and every tuple in them is sorted.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from providers.aws.actions import ACTIONS, IAM_ESCALATION_ACTIONS, KMS_ACTIONS, matching_actions
from scanner.inventory import Capability, PrincipalKind

__all__ = [
    "DenyRule",
    "IdentityAccess",
    "KeyPolicyAccess",
    "PolicyParseError",
    "PrincipalAccess",
    "PrincipalRef",
    "evaluate_identity_policies",
    "evaluate_key_policy",
    "normalize_principal",
]

PUBLIC = "*"

# Condition keys that restrict *who* (or from where) the caller is. Lower case: IAM condition keys are
# case-insensitive.
RESTRICTING_CONDITION_KEYS: frozenset[str] = frozenset(
    {
        "aws:principalaccount",
        "aws:principalarn",
        "aws:principalorgid",
        "aws:principalorgpaths",
        "aws:principalservicename",
        "aws:sourceaccount",
        "aws:sourcearn",
        "aws:sourceorgid",
        "aws:sourceorgpaths",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:sourceip",
        "aws:vpcsourceip",
        "aws:userid",
        "aws:username",
        "kms:calleraccount",
        "kms:viaservice",
        "kms:grantisforawsresource",
    }
)
_GRANT_FOR_AWS_RESOURCE = "kms:grantisforawsresource"
# Operators that do not pin the key to the listed values: negations match everyone else, Null only tests
# presence. (``...IfExists`` and ``ForAllValues:`` are handled apart: both hold when the key is absent.)
_NON_RESTRICTING_OPERATORS = frozenset(
    {
        "stringnotequals",
        "stringnotequalsignorecase",
        "stringnotlike",
        "arnnotequals",
        "arnnotlike",
        "notipaddress",
        "numericnotequals",
        "datenotequals",
        "null",
    }
)
_OPEN_NETWORKS = frozenset({"0.0.0.0/0", "::/0"})

_ACCOUNT_ID = re.compile(r"^\d{12}$")
_PRINCIPAL_ARN = re.compile(
    r"^arn:(?P<partition>[^:]+):(?P<service>iam|sts)::(?P<account>\d{12}):(?P<resource>.+)$"
)
_ANY_ARN_ACCOUNT = re.compile(r"^arn:(?P<partition>[^:]+):[^:]*:[^:]*:(?P<account>\d{12}):")

# Pattern encoding: wildcards and policy variables become single private-use characters, so a pattern can
# be split on ':' even when a variable such as ${aws:username} contains one.
_STAR, _ONE, _VAR = "\ue000", "\ue001", "\ue002"
# Put before one of these characters when the policy itself holds it: a literal U+E000 in a Deny's
# Resource must not act as '*' (it would deny what AWS does not, and hide access).
_LITERAL = "\ue003"
_SPECIAL = frozenset({_STAR, _ONE, _VAR, _LITERAL})
# IAM's grammar nests five levels (Statement, statement, Condition, operator, key: values); a document
# nested far deeper is garbage, and would exhaust the recursion limit of json.loads and json.dumps.
_MAX_NESTING = 32
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_ESCAPES = {"*": "*", "?": "?", "$": "$"}  # ${*}, ${?}, ${$}: the literal character


class PolicyParseError(ValueError):
    """A policy document is not valid JSON or not a JSON object."""


# ---------------------------------------------------------------------------------------------- results
@dataclass(frozen=True, slots=True)
class PrincipalRef:
    """A principal as a policy names it, normalised."""

    uid: str
    kind: PrincipalKind
    external: bool


@dataclass(frozen=True, slots=True)
class PrincipalAccess:
    """One principal's capabilities on the key from the key policy, after unconditional denies."""

    principal: str
    kind: PrincipalKind
    external: bool
    capabilities: frozenset[Capability]
    # Every Allow statement that gave capabilities carried a restricting condition.
    conditional: bool
    # Sids (or ``stmt-<hash>`` for statements without one) of those Allow statements.
    statements: tuple[str, ...]
    # ``kms:ViaService`` values (``bedrock.eu-west-1.amazonaws.com``) when every one of those statements
    # limits use to requests made through AWS services; empty when one of them does not.
    via_services: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DenyRule:
    """An unconditional Deny of a key policy: ``actions`` denied to the principals it covers."""

    actions: frozenset[str]  # KMS action names from ``actions.ACTIONS``
    principals: frozenset[str]  # uids named by Principal (or, with everyone_except, by NotPrincipal)
    everyone_except: bool  # Principal "*" (principals empty) or NotPrincipal

    @property
    def capabilities(self) -> frozenset[Capability]:
        """Capabilities this deny removes entirely (every action giving them is denied)."""
        return _fully_covered(self.actions)

    def applies_to(self, principal: str) -> bool:
        if self.everyone_except:
            # Named in NotPrincipal, directly or through its account: exempt (the doubtful case is
            # resolved towards keeping access).
            return principal not in self.principals and _account_root(principal) not in self.principals
        return principal in self.principals

    def _sort_key(self) -> tuple[bool, tuple[str, ...], tuple[str, ...]]:
        return (self.everyone_except, tuple(sorted(self.principals)), tuple(sorted(self.actions)))


@dataclass(frozen=True, slots=True)
class KeyPolicyAccess:
    grants: tuple[PrincipalAccess, ...]  # sorted by principal; principals left with no capability omitted
    # The account's own root is allowed some capability without a restricting condition: IAM identity
    # policies of the account apply to the key.
    delegates_to_iam: bool
    # What that delegation can reach at most: the root's capabilities from those statements, after
    # denies. Empty when the key policy does not delegate.
    delegated_capabilities: frozenset[Capability]
    # Unconditional denies; they bind IAM-granted access too (see ``denied_capabilities``).
    denies: tuple[DenyRule, ...]
    # Statements (or parts) that could not be understood; each names its statement.
    problems: tuple[str, ...]

    def denied_actions(self, principal: str) -> frozenset[str]:
        """KMS actions the key policy's unconditional denies take from ``principal`` (a normalised uid)."""
        return frozenset().union(*(d.actions for d in self.denies if d.applies_to(principal)))

    def denied_capabilities(self, principal: str) -> frozenset[Capability]:
        """Capabilities those denies take from ``principal`` entirely (every action giving them denied).

        Subtract these from what IAM identity policies give the principal on the key.
        """
        return _fully_covered(self.denied_actions(principal))

    def grant_for(self, principal: str) -> PrincipalAccess | None:
        return next((g for g in self.grants if g.principal == principal), None)


@dataclass(frozen=True, slots=True)
class IdentityAccess:
    capabilities: frozenset[Capability]
    # Every Allow statement that gave capabilities carried a restricting condition.
    conditional: bool
    via: tuple[str, ...]  # names of the policies whose Allow statements gave capabilities
    problems: tuple[str, ...] = field(default=())
    # As ``PrincipalAccess.via_services``: every Allow that gave capabilities names these services.
    via_services: tuple[str, ...] = ()


# ------------------------------------------------------------------------------------------- principals
def normalize_principal(
    value: str, *, account_id: str, principal_type: str = "AWS", partition: str = "aws"
) -> PrincipalRef:
    """Normalise one policy principal value (``principal_type``: the Principal element's key).

    ``123456789012`` and ``arn:aws:iam::123456789012:root`` -> the root ARN, kind ACCOUNT; role and
    assumed-role ARNs -> ROLE; user ARNs -> USER; ``*`` -> PUBLIC; Service -> SERVICE; Federated ->
    ROLE; unique ids of deleted principals (``AROA...``) and anything else unrecognised -> UNKNOWN.
    ``external``: the principal's account is known and is not ``account_id``.
    """
    value = value.strip()
    if value == PUBLIC:
        return PrincipalRef(PUBLIC, PrincipalKind.PUBLIC, external=False)
    kind_of_type = principal_type.lower()
    if kind_of_type == "service":
        return PrincipalRef(value, PrincipalKind.SERVICE, external=False)
    if kind_of_type == "canonicaluser":
        # A canonical user id names an account (S3 ACL style) but does not say which one.
        return PrincipalRef(value, PrincipalKind.UNKNOWN, external=False)
    if kind_of_type == "federated":
        # Identity-provider ARNs carry an account; web identity providers (accounts.google.com) do not.
        found = _ANY_ARN_ACCOUNT.match(value)
        external = found is not None and found["account"] != account_id
        return PrincipalRef(value, PrincipalKind.ROLE, external)
    if kind_of_type != "aws":
        return PrincipalRef(value, PrincipalKind.UNKNOWN, external=False)
    if _ACCOUNT_ID.match(value):
        return PrincipalRef(f"arn:{partition}:iam::{value}:root", PrincipalKind.ACCOUNT, value != account_id)
    found = _PRINCIPAL_ARN.match(value)
    if found is None:
        # Unique ids (AIDA..., AROA...) are what IAM leaves in a policy when the principal was deleted.
        return PrincipalRef(value, PrincipalKind.UNKNOWN, external=False)
    external = found["account"] != account_id
    resource = found["resource"]
    if found["service"] == "iam":
        if resource == "root":
            uid = f"arn:{found['partition']}:iam::{found['account']}:root"
            return PrincipalRef(uid, PrincipalKind.ACCOUNT, external)
        kind = {
            "role": PrincipalKind.ROLE,
            "user": PrincipalKind.USER,
            "group": PrincipalKind.GROUP,
            "saml-provider": PrincipalKind.ROLE,
            "oidc-provider": PrincipalKind.ROLE,
        }.get(resource.split("/", 1)[0], PrincipalKind.UNKNOWN)
        return PrincipalRef(value, kind, external)
    if resource.startswith("assumed-role/"):
        # A role session acts with its role's rights: fold it into the role so the role's access from
        # every source is judged together (the session ARN does not carry the role's path).
        role = resource.split("/")[1] if resource.count("/") >= 1 else ""
        return PrincipalRef(
            f"arn:{found['partition']}:iam::{found['account']}:role/{role}", PrincipalKind.ROLE, external
        )
    kind = {"federated-user": PrincipalKind.USER}.get(resource.split("/", 1)[0], PrincipalKind.UNKNOWN)
    return PrincipalRef(value, kind, external)


def _account_root(uid: str) -> str | None:
    found = _PRINCIPAL_ARN.match(uid)
    return f"arn:{found['partition']}:iam::{found['account']}:root" if found else None


# ------------------------------------------------------------------------------------------- statements
@dataclass(frozen=True, slots=True)
class _Statement:
    label: str
    allow: bool
    actions: frozenset[str]  # names from actions.ACTIONS
    resources: tuple[str, ...] | None  # encoded patterns; None: NotResource is used
    not_resources: tuple[str, ...] | None
    principals: tuple[PrincipalRef, ...]  # empty in identity policies
    not_principal: bool
    has_condition: bool
    restricting: bool
    # A Deny of everyone whose condition negates an organization/account/network match: a data
    # perimeter. It confines what the key policy allows to "*" to callers inside the perimeter.
    perimeter: bool = False
    # kms:ViaService values the statement is limited to (empty: any way of calling).
    via_services: tuple[str, ...] = ()

    @property
    def everyone(self) -> bool:
        return any(p.kind is PrincipalKind.PUBLIC for p in self.principals)


@dataclass
class _Parsed:
    statements: list[_Statement] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _load(document: str | Mapping[str, Any], where: str) -> Mapping[str, Any]:
    loaded: Any = document
    if isinstance(document, str):
        try:
            loaded = json.loads(document)
        except json.JSONDecodeError as exc:
            raise PolicyParseError(
                f"{where} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
            ) from exc
        except RecursionError:
            raise PolicyParseError(f"{where} is nested deeper than {_MAX_NESTING} levels") from None
    if not isinstance(loaded, Mapping):
        raise PolicyParseError(f"{where} is not a JSON object (got {type(loaded).__name__})")
    if _deeper_than(loaded, _MAX_NESTING):
        raise PolicyParseError(f"{where} is nested deeper than {_MAX_NESTING} levels")
    return loaded


def _deeper_than(document: Any, limit: int) -> bool:
    """Whether objects and arrays nest more than ``limit`` levels (walked without recursion; a
    self-containing mapping from a caller counts as too deep, not as a hang)."""
    pending: list[tuple[Any, int]] = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, Mapping):
            children: Iterable[Any] = value.values()
        elif isinstance(value, list | tuple):
            children = value
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


def _label(raw: Any) -> str:
    if isinstance(raw, Mapping):
        sid = raw.get("Sid")
        if isinstance(sid, str) and sid.strip():
            return sid.strip()
    canonical = json.dumps(raw, sort_keys=True, default=str, separators=(",", ":"))
    return "stmt-" + hashlib.sha256(canonical.encode()).hexdigest()[:8]


def _strings(value: Any) -> list[str] | None:
    """A policy element that may be a string or a list of strings; None when it is neither."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def _parse_document(
    document: str | Mapping[str, Any], *, where: str, key_policy: bool, account_id: str, partition: str
) -> _Parsed:
    loaded = _load(document, where)
    parsed = _Parsed()
    raw_statements = loaded.get("Statement")
    if raw_statements is None:
        parsed.problems.append("the document has no Statement")
        return parsed
    if isinstance(raw_statements, Mapping):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list):
        parsed.problems.append("Statement is neither an object nor a list")
        return parsed
    for raw in raw_statements:
        label = _label(raw)
        problems: list[str] = []
        statement = _parse_statement(
            raw, label, problems, key_policy=key_policy, account_id=account_id, partition=partition
        )
        parsed.problems.extend(f"statement {label}: {p}" for p in problems)
        if statement is not None:
            parsed.statements.append(statement)
    return parsed


def _parse_statement(
    raw: Any, label: str, problems: list[str], *, key_policy: bool, account_id: str, partition: str
) -> _Statement | None:
    if not isinstance(raw, Mapping):
        problems.append("not an object; ignored")
        return None
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        problems.append(f"Effect {effect!r} is neither 'Allow' nor 'Deny'; ignored")
        return None
    actions = _parse_actions(raw, problems)
    resources = _parse_resources(raw, problems)
    if actions is None or resources is None:
        return None
    principals, not_principal = _parse_principal_element(
        raw, problems, key_policy=key_policy, account_id=account_id, partition=partition
    )
    if principals is None:
        return None
    has_condition, restricting, grants_for_aws_only = _parse_condition(raw.get("Condition"), problems)
    if grants_for_aws_only:
        # Bool kms:GrantIsForAWSResource=true: the key is only in the request context of CreateGrant,
        # ListGrants and RevokeGrant, so every other action of the statement fails the condition; and the
        # grants those calls manage are the ones integrated AWS services create for the caller's resources,
        # which gives the caller no power to widen anyone's access (rule catalogue 4.1).
        actions = actions & {"kms:ListGrants"}
    return _Statement(
        label=label,
        allow=effect == "Allow",
        actions=actions,
        resources=resources[0],
        not_resources=resources[1],
        principals=principals,
        not_principal=not_principal,
        has_condition=has_condition,
        restricting=restricting,
        perimeter=effect == "Deny" and _is_perimeter(raw.get("Condition")),
        via_services=_via_services(raw.get("Condition")),
    )


def _via_services(condition: Any) -> tuple[str, ...]:
    """The services a ``kms:ViaService`` condition limits the statement to (sorted, lower case); empty
    when it has none, or only one that does not restrict (a negation, ``...IfExists``, ``*``)."""
    if not isinstance(condition, Mapping):
        return ()
    found: set[str] = set()
    for operator, block in condition.items():
        if not isinstance(operator, str) or not isinstance(block, Mapping):
            continue
        for key, values in block.items():
            if isinstance(key, str) and key.lower() == "kms:viaservice" and _restricts(operator, key, values):
                listed = values if isinstance(values, list) else [values]
                found.update(str(v).strip().lower() for v in listed)
    return tuple(sorted(found))


_PERIMETER_OPERATORS = ("stringnotequals", "stringnotlike", "arnnotequals", "arnnotlike")


def _is_perimeter(condition: Any) -> bool:
    """A condition that denies callers outside a pinned organization, account or network."""
    if not isinstance(condition, Mapping):
        return False
    for operator, block in condition.items():
        if not isinstance(operator, str) or not isinstance(block, Mapping):
            continue
        base = operator.lower().removeprefix("foranyvalue:").removesuffix("ifexists")
        if base not in _PERIMETER_OPERATORS:
            continue
        for raw_key, values in block.items():
            key = str(raw_key).lower()
            listed = values if isinstance(values, list) else [values]
            texts = [str(v) for v in listed]
            if (
                key in RESTRICTING_CONDITION_KEYS
                and texts
                and not any(_matches_anyone(key, t) for t in texts)
            ):
                return True
    return False


def _parse_actions(raw: Mapping[str, Any], problems: list[str]) -> frozenset[str] | None:
    if ("Action" in raw) == ("NotAction" in raw):
        problems.append("needs exactly one of Action and NotAction; ignored")
        return None
    negate = "NotAction" in raw
    element = "NotAction" if negate else "Action"
    patterns = _strings(raw[element])
    if patterns is None:
        problems.append(f"{element} is not a string or a list of strings; ignored")
        return None
    return matching_actions([_collapse_wildcards(p) for p in patterns], negate=negate)


_WILDCARDS = re.compile(r"[*?]+")


def _collapse_wildcards(pattern: str) -> str:
    """``kms:**`` as ``kms:*``, ``*?*?`` as ``??*`` (the same actions): the action matcher turns every '*'
    into '.*', and a run of them backtracks exponentially ("kms:" + ten '*' + "x" took 19 s)."""
    return _WILDCARDS.sub(lambda run: "?" * run[0].count("?") + "*" if "*" in run[0] else run[0], pattern)


def _parse_resources(
    raw: Mapping[str, Any], problems: list[str]
) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None] | None:
    if "Resource" in raw and "NotResource" in raw:
        problems.append("has both Resource and NotResource; ignored")
        return None
    if "NotResource" in raw:
        patterns = _strings(raw["NotResource"])
        if patterns is None:
            problems.append("NotResource is not a string or a list of strings; ignored")
            return None
        return None, tuple(_encode(p) for p in patterns)
    # A policy without either is rejected by AWS; read it as "*" (this key, every key).
    patterns = _strings(raw.get("Resource", "*"))
    if patterns is None:
        problems.append("Resource is not a string or a list of strings; ignored")
        return None
    return tuple(_encode(p) for p in patterns), None


def _parse_principal_element(
    raw: Mapping[str, Any], problems: list[str], *, key_policy: bool, account_id: str, partition: str
) -> tuple[tuple[PrincipalRef, ...] | None, bool]:
    has_principal, has_not = "Principal" in raw, "NotPrincipal" in raw
    if not key_policy:
        if has_principal or has_not:
            problems.append("an identity policy cannot name a Principal; ignored")
            return None, False
        return (), False
    if has_principal == has_not:
        problems.append("needs exactly one of Principal and NotPrincipal; ignored")
        return None, False
    element = "NotPrincipal" if has_not else "Principal"
    value = raw[element]
    refs: set[PrincipalRef] = set()
    if value == PUBLIC:
        refs.add(PrincipalRef(PUBLIC, PrincipalKind.PUBLIC, external=False))
    elif isinstance(value, Mapping):
        for principal_type, names in sorted(value.items(), key=lambda item: str(item[0])):
            values = _strings(names)
            if not isinstance(principal_type, str) or principal_type not in (
                "AWS",
                "Service",
                "Federated",
                "CanonicalUser",
            ):
                if has_not:
                    # Dropping a NotPrincipal part would deny more than the policy does.
                    problems.append(f"NotPrincipal type {principal_type!r} is not understood; ignored")
                    return None, False
                problems.append(f"Principal type {principal_type!r} is not understood; that part ignored")
                continue
            if values is None:
                problems.append(f"{element} {principal_type} is not a string or a list of strings; ignored")
                return None, False
            refs.update(
                normalize_principal(
                    name, account_id=account_id, principal_type=principal_type, partition=partition
                )
                for name in values
            )
    else:
        problems.append(f"{element} is neither '*' nor an object; ignored")
        return None, False
    return tuple(sorted(refs, key=lambda r: r.uid)), has_not


def _parse_condition(condition: Any, problems: list[str]) -> tuple[bool, bool, bool]:
    """(has a condition, restricts who/where the caller is, limits grants to AWS-resource grants)."""
    if condition is None:
        return False, False, False
    if not isinstance(condition, Mapping) or not all(isinstance(b, Mapping) for b in condition.values()):
        # Read as no restriction for an Allow; a Deny with it is ignored like any conditional Deny.
        problems.append("Condition is not an object of operator blocks; read as not restricting")
        return True, False, False
    if not condition:
        return False, False, False
    restricting = grants_for_aws_only = False
    for operator, block in condition.items():
        for key, values in block.items():
            if not isinstance(operator, str) or not isinstance(key, str):
                continue
            if _restricts(operator, key, values):
                if key.lower() == _GRANT_FOR_AWS_RESOURCE:
                    # Limits what a grant may be for, not who may call: any caller of an integrated
                    # service still qualifies, so it does not make a public principal non-public.
                    grants_for_aws_only = True
                else:
                    restricting = True
    return True, restricting, grants_for_aws_only


def _restricts(operator: str, key: str, values: Any) -> bool:
    key = key.lower()
    if key not in RESTRICTING_CONDITION_KEYS:
        return False
    op = operator.lower()
    if op.startswith("forallvalues:"):
        return False  # true when the key is absent
    op = op.removeprefix("foranyvalue:")
    if op.endswith("ifexists") or op in _NON_RESTRICTING_OPERATORS:
        return False
    listed = values if isinstance(values, list) else [values]
    texts = [str(v).lower() if isinstance(v, bool) else str(v) for v in listed]
    if not texts or all(t.strip() == "*" for t in texts):
        return False
    if key == _GRANT_FOR_AWS_RESOURCE:
        return any(t.strip().lower() == "true" for t in texts)
    if any(_matches_anyone(key, t) for t in texts):
        # "o-*", "arn:aws:iam::*:role/*" or a policy variable match callers of any organization or
        # account: not a restriction of who may call (the AWS Config public-access rule agrees).
        return False
    open_network = key in ("aws:sourceip", "aws:vpcsourceip") and all(
        t.strip() in _OPEN_NETWORKS for t in texts
    )
    return not open_network


def _wild(text: str) -> bool:
    return "*" in text or "?" in text or "${" in text


def _matches_anyone(key: str, value: str) -> bool:
    """A condition value that does not pin the caller's account or organization."""
    if key == "kms:viaservice":
        return False  # names a service; which one is the restriction
    if key in ("aws:principalarn", "aws:sourcearn"):
        parts = value.split(":")
        if len(parts) < 6:
            return True
        # An ARN without an account (an S3 bucket) pins the resource itself unless it is a pattern.
        return _wild(parts[4]) if parts[4] else _wild(value)
    if key in ("aws:principalorgpaths", "aws:sourceorgpaths"):
        return _wild(value.split("/", 1)[0])
    return _wild(value)


# --------------------------------------------------------------------------------------------- resources
def _encode(pattern: str) -> str:
    def wild(text: str) -> str:
        # The policy's own U+E000..U+E003 stay literal characters.
        text = "".join(_LITERAL + char if char in _SPECIAL else char for char in text)
        return text.replace("*", _STAR).replace("?", _ONE)

    out: list[str] = []
    position = 0
    for found in _VARIABLE.finditer(pattern):
        out.append(wild(pattern[position : found.start()]))
        out.append(_ESCAPES.get(found[1], _VAR))
        position = found.end()
    out.append(wild(pattern[position:]))
    return "".join(out)


_NEVER = re.compile("(?!)")


@lru_cache(maxsize=4096)
def _regex(encoded: str, variables_match: bool) -> re.Pattern[str]:
    """The pattern as a regular expression for ``fullmatch``, in time linear in the text.

    Wildcard runs cut the pattern into fixed-length chunks. Each chunk between two runs is taken at its
    first place in an atomic group, never retried elsewhere: for a glob the first place is always as
    good as a later one, and a plain ``.*a.*a.*a...`` would backtrack exponentially on a hostile
    Resource (eight '*' before an 'x' took 17 s for one key)."""
    chunks: list[str] = []
    current: list[str] = []
    chars = iter(encoded)
    for char in chars:
        if char == _LITERAL:
            current.append(re.escape(next(chars, "")))
        elif char in (_STAR, _VAR):
            if char == _VAR and not variables_match:
                return _NEVER
            chunks.append("".join(current))
            current = []
        elif char == _ONE:
            current.append(".")
        else:
            current.append(re.escape(char))
    chunks.append("".join(current))
    if len(chunks) == 1:
        return re.compile(chunks[0], re.DOTALL)
    middle = "".join(f"(?>.*?{chunk})" for chunk in chunks[1:-1] if chunk)
    return re.compile(f"{chunks[0]}{middle}.*{chunks[-1]}", re.DOTALL)


def _matches(encoded: str, text: str, *, variables_match: bool) -> bool:
    return _regex(encoded, variables_match).fullmatch(text) is not None


def _segments(encoded: str) -> list[str]:
    return encoded.split(":", 5)


def _is_literal(segment: str) -> bool:
    return not any(c in _SPECIAL for c in segment)


def _sample(segment: str) -> str:
    """A string the segment's pattern matches (wildcards and variables as empty, '?' as one character)."""
    out: list[str] = []
    chars = iter(segment)
    for char in chars:
        if char == _LITERAL:
            out.append(next(chars, ""))
        elif char == _ONE:
            out.append("x")
        elif char not in (_STAR, _VAR):
            out.append(char)
    return "".join(out)


def _covers_some_scope(encoded: str, service: str, prefix: str) -> bool:
    """The pattern matches every resource of ``service`` starting with ``prefix`` in some region/account.

    A pattern ending in '*' that matches ``arn:P:SERVICE:R:A:PREFIX`` matches it followed by anything.
    """
    if not encoded.endswith(_STAR):
        return False
    seg = _segments(encoded) + [""] * 5
    test = f"arn:{_sample(seg[1])}:{service}:{_sample(seg[3])}:{_sample(seg[4])}:{prefix}"
    return _matches(encoded, test, variables_match=True)


def _covers_everywhere(encoded: str, service: str, prefix: str) -> bool:
    """The pattern matches every resource of ``service`` starting with ``prefix``, whatever region/account."""
    if not encoded.endswith(_STAR):
        return False
    seg = _segments(encoded)
    partition = seg[1] if len(seg) > 1 and _is_literal(seg[1]) else "aws"
    regions = ("", "") if service == "iam" else ("us-east-1", "ap-southeast-2")
    tests = (
        f"arn:{partition}:{service}:{regions[0]}:111111111111:{prefix}",
        f"arn:{partition}:{service}:{regions[1]}:999999999999:{prefix}",
    )
    return all(_matches(encoded, t, variables_match=False) for t in tests)


def _cannot_match_service(encoded: str, service: str) -> bool:
    seg = _segments(encoded)
    if len(seg) < 3:
        return _is_literal(encoded) and not encoded.startswith("arn:")
    return (_is_literal(seg[0]) and seg[0] != "arn") or (_is_literal(seg[2]) and seg[2].lower() != service)


def _applies_to_arn(statement: _Statement, arn: str, *, generous: bool) -> bool:
    """Whether the statement's Resource/NotResource covers ``arn``.

    ``generous`` (for Allow): uncertain matches (policy variables) count as matching a Resource and as not
    matching a NotResource; for Deny the other way round.
    """
    if statement.resources is not None:
        return any(_matches(p, arn, variables_match=generous) for p in statement.resources)
    assert statement.not_resources is not None
    return not any(_matches(p, arn, variables_match=not generous) for p in statement.not_resources)


def _covers_account(encoded: str, service: str, prefix: str, account: str) -> bool:
    """The pattern matches every resource of ``service`` starting with ``prefix`` in ``account``, in
    every region (a pattern for one region, or for another account's keys, does not)."""
    if not encoded.endswith(_STAR):
        return False
    seg = _segments(encoded)
    partition = seg[1] if len(seg) > 1 and _is_literal(seg[1]) else "aws"
    regions = ("",) if service == "iam" else ("us-east-1", "ap-southeast-2")
    return all(
        _matches(encoded, f"arn:{partition}:{service}:{region}:{account}:{prefix}", variables_match=True)
        for region in regions
    )


def _applies_to_all(statement: _Statement, service: str, prefix: str, account: str | None = None) -> bool:
    """Whether the statement covers every resource of ``service`` (Allow: of ``account``, or of some
    account when None; Deny: anywhere)."""
    if statement.allow:
        if statement.resources is not None:
            if account:
                return any(_covers_account(p, service, prefix, account) for p in statement.resources)
            return any(_covers_some_scope(p, service, prefix) for p in statement.resources)
        assert statement.not_resources is not None
        # "All but some" still counts as all (over-approximation) unless nothing of the service is left.
        return not any(_covers_everywhere(p, service, prefix) for p in statement.not_resources)
    if statement.resources is not None:
        return any(_covers_everywhere(p, service, prefix) for p in statement.resources)
    assert statement.not_resources is not None
    return all(_cannot_match_service(p, service) for p in statement.not_resources)


def _capabilities(actions: Iterable[str]) -> frozenset[Capability]:
    return frozenset().union(*(ACTIONS[a] for a in actions))


# Per capability, the KMS actions that give it: a capability is gone only when all of them are denied.
_KMS_ACTIONS_BY_CAPABILITY: dict[Capability, frozenset[str]] = {
    capability: frozenset(a for a in KMS_ACTIONS if capability in ACTIONS[a]) for capability in Capability
}


def _fully_covered(actions: frozenset[str]) -> frozenset[Capability]:
    return frozenset(c for c, giving in _KMS_ACTIONS_BY_CAPABILITY.items() if giving and giving <= actions)


# --------------------------------------------------------------------------------------------- key policy
def evaluate_key_policy(
    document: str | Mapping[str, Any], *, key_arn: str, account_id: str
) -> KeyPolicyAccess:
    """Effective access a key policy gives on its key (raises ``PolicyParseError`` if not a JSON object).

    Denies are subtracted action by action (denying kms:Decrypt leaves GenerateDataKey's decrypt).
    """
    partition = _partition(key_arn)
    parsed = _parse_document(
        document, where="key policy", key_policy=True, account_id=account_id, partition=partition
    )
    allows: list[tuple[_Statement, frozenset[str], tuple[PrincipalRef, ...]]] = []
    deny_rules: set[DenyRule] = set()
    perimeter: set[str] = set()  # actions a data-perimeter Deny confines to callers inside it
    for statement in parsed.statements:
        actions = statement.actions & KMS_ACTIONS  # IAM actions mean nothing in a key policy
        if not actions:
            continue
        if statement.perimeter and statement.everyone and _applies_to_arn(statement, key_arn, generous=False):
            perimeter |= actions
        if statement.allow:
            if _applies_to_arn(statement, key_arn, generous=True):
                principals = (
                    (PrincipalRef(PUBLIC, PrincipalKind.PUBLIC, external=False),)
                    if statement.not_principal
                    else statement.principals
                )
                allows.append((statement, actions, principals))
        # A Deny with any condition might not apply to a given request: ignoring it over-approximates
        # access, the safe side for segregation of duties.
        elif not statement.has_condition and _applies_to_arn(statement, key_arn, generous=False):
            deny_rules.add(_deny_rule(statement, actions))
    denies = tuple(sorted(deny_rules, key=DenyRule._sort_key))

    denied_cache: dict[str, frozenset[str]] = {}

    def denied(uid: str) -> frozenset[str]:
        if uid not in denied_cache:
            denied_cache[uid] = frozenset().union(*(d.actions for d in denies if d.applies_to(uid)))
        return denied_cache[uid]

    refs: dict[str, PrincipalRef] = {}
    given: dict[str, set[Capability]] = defaultdict(set)
    labels: dict[str, set[str]] = defaultdict(set)
    unrestricted: dict[str, bool] = defaultdict(bool)
    services: dict[str, set[str]] = defaultdict(set)
    any_service: set[str] = set()  # principals with a statement not limited to services
    root = f"arn:{partition}:iam::{account_id}:root"
    delegated: set[Capability] = set()
    for statement, actions, principals in allows:
        for ref in principals:
            effective = _capabilities(actions - denied(ref.uid))
            if not effective:
                continue
            refs[ref.uid] = ref
            given[ref.uid] |= effective
            labels[ref.uid].add(statement.label)
            if statement.via_services:
                services[ref.uid].update(statement.via_services)
            else:
                any_service.add(ref.uid)
            fenced = ref.kind is PrincipalKind.PUBLIC and actions <= perimeter
            if not statement.restricting and not fenced:
                unrestricted[ref.uid] = True
                if ref.uid == root:
                    delegated |= effective
    grants = tuple(
        PrincipalAccess(
            principal=uid,
            kind=refs[uid].kind,
            external=refs[uid].external,
            capabilities=frozenset(given[uid]),
            conditional=not unrestricted[uid],
            statements=tuple(sorted(labels[uid])),
            via_services=() if uid in any_service else tuple(sorted(services[uid])),
        )
        for uid in sorted(given)
    )
    return KeyPolicyAccess(
        grants=grants,
        delegates_to_iam=bool(delegated),
        delegated_capabilities=frozenset(delegated),
        denies=denies,
        problems=tuple(sorted(set(parsed.problems))),
    )


def _deny_rule(statement: _Statement, actions: frozenset[str]) -> DenyRule:
    uids = frozenset(p.uid for p in statement.principals)
    if statement.not_principal:
        return DenyRule(actions, uids, everyone_except=True)
    if statement.everyone:
        return DenyRule(actions, frozenset(), everyone_except=True)
    return DenyRule(actions, uids, everyone_except=False)


def _partition(arn: str) -> str:
    parts = arn.split(":", 2)
    return parts[1] if len(parts) > 2 and parts[0] == "arn" and parts[1] else "aws"


# ------------------------------------------------------------------------------------- identity policies
def evaluate_identity_policies(
    documents: Iterable[tuple[str, str | Mapping[str, Any]]],
    *,
    key_arn: str | None,
    account_id: str | None = None,
) -> IdentityAccess:
    """What one principal's identity policies (name, document) give it on ``key_arn``, or on every key.

    ``key_arn=None``: capabilities held on all keys of ``account_id`` in every region (a Resource whose
    key-id part is '*' and whose account and region parts cover them); without ``account_id``, on all keys
    of some account or region. KMS actions count where the Resource covers the key; the IAM escalation actions of
    ``actions.IAM_ESCALATION_ACTIONS`` give administer_access where the Resource covers every IAM resource
    (``*``). Unconditional denies subtract action by action; conditional ones are ignored
    (over-approximation). Raises ``PolicyParseError`` (naming the policy) for a document that is not a
    JSON object.
    """
    allows: list[tuple[str, _Statement, frozenset[str]]] = []
    denied: set[str] = set()
    problems: set[str] = set()
    for name, document in documents:
        parsed = _parse_document(
            document, where=f"identity policy {name!r}", key_policy=False, account_id="", partition="aws"
        )
        problems.update(f"{name}: {p}" for p in parsed.problems)
        for statement in parsed.statements:
            actions = _statement_actions(statement, key_arn, account_id)
            if not actions:
                continue
            if statement.allow:
                allows.append((name, statement, actions))
            elif not statement.has_condition:  # conditional denies ignored, as for key policies
                denied |= actions
    given: set[Capability] = set()
    via: set[str] = set()
    unrestricted = False
    services: set[str] = set()
    any_service = False
    for name, statement, actions in allows:
        effective = _capabilities(actions - denied)
        if effective:
            given |= effective
            via.add(name)
            unrestricted = unrestricted or not statement.restricting
            services.update(statement.via_services)
            any_service = any_service or not statement.via_services
    return IdentityAccess(
        capabilities=frozenset(given),
        conditional=bool(given) and not unrestricted,
        via=tuple(sorted(via)),
        problems=tuple(sorted(problems)),
        via_services=() if any_service else tuple(sorted(services)),
    )


def _statement_actions(
    statement: _Statement, key_arn: str | None, account: str | None = None
) -> frozenset[str]:
    """Table actions an identity-policy statement allows (or denies) on the key / on all keys."""
    out: frozenset[str] = frozenset()
    kms_actions = statement.actions & KMS_ACTIONS
    if kms_actions:
        if key_arn is None:
            applies = _applies_to_all(statement, "kms", "key/", account)
        else:
            applies = _applies_to_arn(statement, key_arn, generous=statement.allow)
        if applies:
            out |= kms_actions
    iam_actions = statement.actions & IAM_ESCALATION_ACTIONS
    if iam_actions and _applies_to_all(statement, "iam", ""):
        out |= iam_actions
    return out
