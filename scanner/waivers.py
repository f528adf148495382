"""Waivers (``--waivers FILE``): accepted risks that keep a failing finding in the output but out of --fail-on.

File format (YAML)::

    waivers:
      - id: W-2026-014                   # optional; default: its place in the file, "waivers[0]"
        rule: key_rotation_enabled       # required: rule id; glob allowed (key_users_*)
        resource: "arn:aws:kms:*:111122223333:key/*"   # optional glob on the resource uid (default *)
        scope: "111122223333"            # optional glob on the account / project / subscription id
        provider: aws                    # optional: aws, gcp, azure or policy
        tags:                            # optional: every tag named must be on the resource, with
          data_classification: public    #   this value (glob) or one of a list of values
        reason: Public signing key for the release pipeline; rotation would break verifiers
        owner: platform-security@example.com
        ticket: SEC-1234
        expires: 2027-01-31              # a date (YYYY-MM-DD); the waiver holds through that day (UTC)

Every waiver needs ``rule``, ``reason``, ``owner``, ``ticket`` and ``expires``; unknown keys are
errors. Matching:

* A waiver applies to a finding when every selector given matches: ``rule`` (case-sensitive glob on
  the rule id, which must match at least one rule of the catalogue), ``resource`` and ``scope``
  (case-insensitive globs, since Azure ids vary in case), ``provider`` (exact), ``tags`` (the tags or
  labels of the key or key store the finding is about, as read into the inventory; names and values
  case-insensitive; findings on scopes or the policy carry no tags, so a tag selector never matches
  them). Globs are shell-style: ``*``, ``?``, ``[seq]``. Quote account and project ids: YAML reads
  unquoted digits as a number.
* A selector that would waive everything (``rule: "*"`` and nothing else) is refused.
* Only failing findings (fail, unknown, error) are waived; a passing finding is never marked. A
  waived finding stays in every output with ``waived: true`` and ``waiver: {id, reason, owner,
  ticket, expires}``, and does not count for ``--fail-on``. When several waivers match, the first in
  the file wins.
* A waiver is expired once the run's clock (``--as-of``, or now) is past its ``expires`` date: the
  findings it matches are not waived (they count for ``--fail-on`` again) and a ``waiver.expired``
  warning names the waiver and each re-opened finding.
* A waiver that matches no failing finding (a typo, or the risk is gone) is reported: a
  ``waiver.unmatched`` warning and the ``unmatched`` list of the result's ``scan.waivers``.

``scan.waivers`` in the native JSON result: ``{path, sha256, by_id: {ID: {rule, expires, expired,
matched, waived}}, unmatched: [ID], expired: [ID]}`` (``matched``: failing findings the selectors
matched; ``waived``: those this waiver actually waived), or null without ``--waivers``.

A bad file (YAML syntax, unknown or missing key, bad date, unknown rule) stops the run before any
work with exit 2 and ``file:line: at waivers[N].field: problem``.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from fnmatch import translate
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from scanner.errors import InputError
from scanner.findings import Finding
from scanner.inventory import Inventory
from scanner.logs import get_logger
from scanner.yamlfile import LocatedDocument, display_path, dotted_path, load_located_yaml, readable

# Re-opened findings logged one by one per expired waiver; beyond this, one summary line.
_EXPIRED_LOG_LIMIT = 10

_Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


def _text(value: Any) -> Any:
    # `ticket: 1234` and `scope: 111122223333` are read as ints by YAML; both are meant as text.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def _tag_values(value: Any) -> Any:
    """``{env: prod}`` means ``{env: [prod]}``; numbers are text."""
    if isinstance(value, Mapping):
        return {
            k: [_text(v)] if not isinstance(v, list | tuple) else [_text(x) for x in v]
            for k, v in value.items()
        }
    return value


class _WaiverEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: _Text | None = None
    rule: _Text
    resource: _Text = "*"
    scope: _Text = "*"
    provider: Literal["aws", "gcp", "azure", "policy"] | None = None
    tags: dict[str, tuple[_Text, ...]] = Field(default_factory=dict)
    reason: _Text
    owner: _Text
    ticket: _Text
    expires: date

    _as_text = field_validator("id", "rule", "resource", "scope", "reason", "owner", "ticket", mode="before")(
        _text
    )
    _tags = field_validator("tags", mode="before")(_tag_values)

    @field_validator("expires", mode="before")
    @classmethod
    def _date_only(cls, value: Any) -> Any:
        # A bare date is what people write. Pydantic would also take a number (as a Unix time): refuse it.
        if isinstance(value, date) or (
            isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip())
        ):
            return value
        raise ValueError("expected a date written YYYY-MM-DD")


class _WaiverFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    waivers: tuple[_WaiverEntry, ...] = ()


def _glob(pattern: str, *, ignore_case: bool) -> re.Pattern[str]:
    return re.compile(translate(pattern), re.IGNORECASE if ignore_case else 0)


def _is_match_all(pattern: str) -> bool:
    return pattern.strip("*") == ""


@dataclass(frozen=True)
class Waiver:
    """One validated waiver: selectors compiled, plus where it sits in the file (for messages)."""

    id: str
    rule: str
    resource: str
    scope: str
    provider: str | None
    tags: Mapping[str, tuple[str, ...]]
    reason: str
    owner: str
    ticket: str
    expires: date
    where: str  # "file:line: at waivers[N]"
    rule_where: str
    _rule: re.Pattern[str] = field(repr=False, compare=False)
    _resource: re.Pattern[str] | None = field(repr=False, compare=False)
    _scope: re.Pattern[str] | None = field(repr=False, compare=False)
    _tags: tuple[tuple[str, tuple[re.Pattern[str], ...]], ...] = field(repr=False, compare=False)

    def matches_rule(self, rule_id: str) -> bool:
        return self._rule.match(rule_id) is not None

    def matches(self, finding: Finding, tags: Mapping[str, str] | None) -> bool:
        """Every selector but the rule (checked once per rule id by the caller)."""
        if self.provider is not None and finding.provider != self.provider:
            return False
        if self._scope is not None and self._scope.match(finding.scope) is None:
            return False
        if self._resource is not None and self._resource.match(finding.resource.uid) is None:
            return False
        if self._tags:
            if not tags:
                return False
            folded = {k.casefold(): v for k, v in tags.items()}
            for name, patterns in self._tags:
                value = folded.get(name)
                if value is None or not any(p.match(value) for p in patterns):
                    return False
        return True

    def finding_field(self) -> dict[str, str]:
        """What a waived finding carries in ``waiver``."""
        return {
            "id": self.id,
            "reason": self.reason,
            "owner": self.owner,
            "ticket": self.ticket,
            "expires": self.expires.isoformat(),
        }


@dataclass(frozen=True)
class WaiverFile:
    path: str
    sha256: str
    waivers: tuple[Waiver, ...]

    def check_rules(self, rule_ids: Iterable[str]) -> None:
        """A rule selector that matches no rule of the catalogue is a typo: InputError naming the line."""
        known = list(rule_ids)
        problems = []
        for waiver in self.waivers:
            if any(waiver.matches_rule(rule_id) for rule_id in known):
                continue
            hint = difflib.get_close_matches(waiver.rule, known, n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else " (see `keyaudit rules list`)"
            problems.append(f"{waiver.rule_where}: no rule matches '{waiver.rule}'{suggestion}")
        if problems:
            raise InputError("\n".join(problems))

    def applier(self, *, today: date, inventory: Inventory) -> WaiverApplier:
        return WaiverApplier(self, today=today, inventory=inventory)


def load_waivers(path: Path) -> WaiverFile:
    """Read and validate a waiver file; any problem raises InputError naming file, line and field."""
    located = load_located_yaml(path, what="waiver file")
    data = located.data
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(f"{path}:1: waiver file must be a mapping with a 'waivers' list, not {_kind(data)}")
    if not isinstance(data.get("waivers", []), list):
        raise InputError(
            f"{located.describe(('waivers',))}: must be a list of waivers, not {_kind(data['waivers'])}"
        )
    try:
        document = _WaiverFile.model_validate(data)
    except ValidationError as exc:
        raise InputError(_describe(located, exc)) from exc
    waivers: list[Waiver] = []
    seen: set[str] = set()
    for index, entry in enumerate(document.waivers):
        loc = ("waivers", index)
        waiver_id = entry.id or dotted_path(loc)
        if waiver_id in seen:
            shown_id = readable(waiver_id, quote="'")
            raise InputError(f"{located.describe((*loc, 'id'))}: duplicate waiver id {shown_id}")
        seen.add(waiver_id)
        if _is_match_all(entry.rule) and not (
            entry.provider
            or entry.tags
            or not _is_match_all(entry.resource)
            or not _is_match_all(entry.scope)
        ):
            raise InputError(
                f"{located.describe((*loc, 'rule'))}: this waiver would waive every finding; "
                "name a rule or narrow it with resource, scope, provider or tags"
            )
        waivers.append(_compile(entry, waiver_id, located.describe(loc), located.describe((*loc, "rule"))))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    # scan.waivers.path goes into every output: shown as text even when the file name is not UTF-8.
    return WaiverFile(path=display_path(path), sha256=digest, waivers=tuple(waivers))


def _compile(entry: _WaiverEntry, waiver_id: str, where: str, rule_where: str) -> Waiver:
    return Waiver(
        id=waiver_id,
        rule=entry.rule,
        resource=entry.resource,
        scope=entry.scope,
        provider=entry.provider,
        tags=entry.tags,
        reason=entry.reason,
        owner=entry.owner,
        ticket=entry.ticket,
        expires=entry.expires,
        where=where,
        rule_where=rule_where,
        _rule=_glob(entry.rule, ignore_case=False),
        _resource=None if _is_match_all(entry.resource) else _glob(entry.resource, ignore_case=True),
        _scope=None if _is_match_all(entry.scope) else _glob(entry.scope, ignore_case=True),
        _tags=tuple(
            (name.casefold(), tuple(_glob(v, ignore_case=True) for v in values))
            for name, values in entry.tags.items()
        ),
    )


def _kind(value: Any) -> str:
    names: dict[type, str] = {list: "a list", str: "a string", dict: "a mapping"}
    return names.get(type(value)) or type(value).__name__


def _describe(located: LocatedDocument, exc: ValidationError) -> str:
    """One line per problem, ``file:line: at waivers[0].field: what is wrong``; unknown keys get a hint."""
    problems = []
    for error in exc.errors():
        loc = tuple(p for p in error["loc"] if isinstance(p, str | int))
        kind = error["type"]
        if kind == "extra_forbidden":
            model = _WaiverEntry if len(loc) == 3 else _WaiverFile
            known = list(model.model_fields)
            hint = difflib.get_close_matches(str(loc[-1]), known, n=1)
            suggestion = (
                f" (did you mean '{hint[0]}'?)" if hint else f" (expected one of: {', '.join(known)})"
            )
            key = readable(str(loc[-1]), quote="'")
            problems.append(f"{located.describe(loc)}: unknown key {key}{suggestion}")
        elif kind == "missing":
            problems.append(f"{located.describe(loc)}: required field '{loc[-1]}' is missing")
        else:
            given = error.get("input")
            shown = f" (got {given!r})" if not isinstance(given, dict | list) else ""
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{located.describe(loc)}: {message}{shown}")
    return "\n".join(problems)


@dataclass
class _Tally:
    matched: int = 0
    waived: int = 0
    reopened: int = 0


class WaiverApplier:
    """Marks findings as they stream past and keeps the counts for ``scan.waivers``."""

    def __init__(self, waivers: WaiverFile, *, today: date, inventory: Inventory) -> None:
        self.file = waivers
        self.today = today
        self.expired = {w.id for w in waivers.waivers if today > w.expires}
        self.tally = {w.id: _Tally() for w in waivers.waivers}
        self._by_rule: dict[str, tuple[Waiver, ...]] = {}
        self._inventory = inventory
        self._tags: dict[str, Mapping[str, str]] | None = None
        self._log = get_logger()

    def _tags_of(self, uid: str) -> Mapping[str, str] | None:
        if self._tags is None:  # built on first need: only tag selectors use it
            inventory = self._inventory
            self._tags = {s.uid: s.tags for s in inventory.key_stores}
            self._tags.update((k.uid, k.tags) for k in inventory.keys)
        return self._tags.get(uid)

    def apply(self, finding: Finding) -> Finding:
        if not finding.status.is_failing:
            return finding
        candidates = self._by_rule.get(finding.rule_id)
        if candidates is None:
            candidates = tuple(w for w in self.file.waivers if w.matches_rule(finding.rule_id))
            self._by_rule[finding.rule_id] = candidates
        chosen: Waiver | None = None
        lapsed: list[Waiver] = []
        for waiver in candidates:
            tags = self._tags_of(finding.resource.uid) if waiver.tags else None
            if not waiver.matches(finding, tags):
                continue
            self.tally[waiver.id].matched += 1
            if waiver.id in self.expired:
                lapsed.append(waiver)
            elif chosen is None:
                chosen = waiver
        if chosen is not None:
            self.tally[chosen.id].waived += 1
            return replace(finding, waived=True, waiver=chosen.finding_field())
        for waiver in lapsed:
            tally = self.tally[waiver.id]
            tally.reopened += 1
            if tally.reopened <= _EXPIRED_LOG_LIMIT:
                self._log.warning(
                    "waiver.expired",
                    waiver=waiver.id,
                    expires=waiver.expires.isoformat(),
                    finding_id=finding.finding_id,
                    rule_id=finding.rule_id,
                    resource=finding.resource.uid,
                    scope=finding.scope,
                )
        return finding

    def report(self) -> dict[str, Any]:
        """``scan.waivers``; warns about waivers that matched nothing and re-opened findings not listed."""
        by_id: dict[str, dict[str, Any]] = {}
        unmatched: list[str] = []
        for waiver in self.file.waivers:
            tally = self.tally[waiver.id]
            expired = waiver.id in self.expired
            by_id[waiver.id] = {
                "rule": waiver.rule,
                "expires": waiver.expires.isoformat(),
                "expired": expired,
                "matched": tally.matched,
                "waived": tally.waived,
            }
            if tally.reopened > _EXPIRED_LOG_LIMIT:
                self._log.warning(
                    "waiver.expired",
                    waiver=waiver.id,
                    expires=waiver.expires.isoformat(),
                    reopened=tally.reopened,
                    not_listed=tally.reopened - _EXPIRED_LOG_LIMIT,
                )
            if tally.matched == 0:
                unmatched.append(waiver.id)
                self._log.warning(
                    "waiver.unmatched",
                    waiver=waiver.id,
                    rule=waiver.rule,
                    where=waiver.where,
                    expired=expired,
                    message="matches no failing finding: the risk may be gone, or a selector is wrong",
                )
        return {
            "path": self.file.path,
            "sha256": self.file.sha256,
            "by_id": by_id,
            "unmatched": unmatched,
            "expired": [w.id for w in self.file.waivers if w.id in self.expired],
        }
