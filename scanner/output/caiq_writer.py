"""AI-CAIQ answer sheet for CSA AICM CEK-01 and CEK-02, as JSON (``caiq``) and Markdown (``caiq-md``).

Each question is split into the parts its wording asks for ("established", "approved", "implemented",
...). A part is judged from the findings of the rules that bear on it; parts no scanner can see are
answered "Not assessed" and say what evidence the organisation must bring instead.

How answers are derived (also written into every sheet, see ``ANSWER_LOGIC``):

Part
  Not assessed  no finding bearing on it passed or failed (none ran, or all were UNKNOWN/ERROR)
  Yes           every bearing finding passed (waived failures count as accepted exceptions)
                and none was UNKNOWN/ERROR
  No            none passed: every judged finding failed
  Partial       otherwise: some failed, or some could not be judged
Question (from its parts that a scanner can assess)
  No            a decisive policy-governance part (the policy exists, is owned, approved, reviewed;
                roles are defined) is No, or every judged part is No
  Not assessed  no part could be judged, or every judged part is Yes but another one could not be
                judged: keyaudit found nothing wrong yet cannot confirm the question
  Yes           every part is Yes
  Partial       otherwise

Sheet structure (JSON; the Markdown shows the same)::

    {schema, generated_at, run_id, framework, tool_version, mode, evaluated_as_of, policy,
     answer_logic, findings_listed ("all" or "failing only (--only-failed)"),
     questions: [{id, control, question, answer, rationale,
                  parts: [{part, answer, assessable, decisive, counts: {pass, fail, unknown, error, waived},
                           rules: [{rule_id, title, counts}], findings: [finding summary, failing first],
                           findings_total, notes, not_assessed}],
                  not_assessed_by_keyaudit: [{part, what}],
                  scopes: ["provider:scope", ...], coverage: {unknown_findings, error_findings,
                  scopes_with_gaps},
                  drift (CEK-02.1 only): {keys_checked, keys_not_judged, keys_with_drift, ...counts,
                         keys: [{key: {uid, name, type, provider, scope, location}, waived,
                                 conflicts: [{principal, kind, admin_capabilities, use_capabilities, via}],
                                 undeclared_administrators / undeclared_users: [{principal, kind,
                                 capabilities, via}], and their counts}],
                         scope_wide: [{provider, scope, rule_id, meaning, principal, kind, capabilities,
                                       via, waived}], scope_wide_count}}],
     scopes: scan.scopes, coverage: scan.coverage}

Findings are streamed past; only counts, a capped sample per part and the per-key drift of CEK-02
(capped) are kept. Status counts come from the run's Summary, so they stay complete when
``--only-failed`` leaves passing findings out of the outputs.
"""

from __future__ import annotations

import heapq
import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from scanner.findings import Finding, Summary
from scanner.output.base import FindingWriter
from scanner.rule import POLICY_PROVIDER, Status

SCHEMA = "keyaudit-caiq/1.0"
FRAMEWORK = "CSA AICM v1.0 / AI-CAIQ"
FINDINGS_PER_PART = 25  # findings listed per part, failing first; the counts cover all of them
DRIFT_KEYS = 2000  # keys listed in the CEK-02 drift; the totals cover all of them
DRIFT_SCOPE_ENTRIES = 500
QUESTION_SCOPES = 200

YES, NO, PARTIAL, NOT_ASSESSED = "Yes", "No", "Partial", "Not assessed"

ANSWER_LOGIC = {
    "part": {
        NOT_ASSESSED: "no finding bearing on the part passed or failed (none ran, or all were unknown/error)",
        YES: "every bearing finding passed (waived failures count as accepted exceptions), none unknown/error",
        NO: "no bearing finding passed: every judged finding failed",
        PARTIAL: "some bearing findings failed or could not be judged, others passed",
    },
    "question": {
        NO: "a decisive policy-governance part is No, or every judged part is No",
        NOT_ASSESSED: (
            "no part could be judged, or every judged part is Yes while another could not be judged"
        ),
        YES: "every part a scanner can assess is Yes",
        PARTIAL: "otherwise: some parts are met, others are not or only in part",
    },
    "scope": (
        "Answers cover only what keyaudit can read: the cloud key services of the scanned scopes and the "
        "CEK policy file. Each part names what it does not assess; bring that evidence separately."
    ),
}

_CEK_CONTROLS = tuple(f"CSA-AICM:CEK-{n:02d}" for n in range(1, 22))


@dataclass(frozen=True)
class Part:
    """One requirement inside a question and the findings that bear on it.

    A finding bears on the part when its rule is listed in ``rules``, or when it comes from a cloud
    provider (not the policy file) and carries one of ``controls`` (the rules' own mappings) and its
    rule is not in ``exclude``. A part with neither is outside what a scanner can see.
    """

    name: str
    not_assessed: str  # what keyaudit cannot see for this part, stated to the auditor
    rules: tuple[str, ...] = ()
    controls: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    decisive: bool = False  # its failure alone answers the question No (policy governance)
    annual: bool = False  # the rule's review interval must also be at most a year (CEK-01.2)

    @property
    def assessable(self) -> bool:
        return bool(self.rules or self.controls)

    def bears(self, rule_id: str, provider: str, controls: Iterable[str]) -> bool:
        if rule_id in self.rules:
            return True
        if not self.controls or provider == POLICY_PROVIDER or rule_id in self.exclude:
            return False
        return any(control in self.controls for control in controls)


@dataclass(frozen=True)
class Question:
    id: str
    control: str
    text: str
    parts: tuple[Part, ...]
    drift: bool = False  # carries the policy-vs-reality drift of CEK-02


# The question -> part -> rules table. Governance parts list the policy-file rules by judgement;
# implementation parts select cloud rules by their CSA-AICM mapping, so new rules join by mapping.
QUESTIONS: tuple[Question, ...] = (
    Question(
        id="CEK-01.1",
        control="CEK-01",
        text=(
            "Are cryptography, encryption, and key management policies and procedures established, "
            "documented, approved, communicated, applied, evaluated, and maintained?"
        ),
        parts=(
            Part(
                "established",
                rules=("cek_policy_present",),
                decisive=True,
                not_assessed=(
                    "The procedures that carry the policy out (key generation, distribution, revocation, "
                    "destruction, compromise and recovery runbooks): keyaudit reads the policy file, not "
                    "the procedures."
                ),
            ),
            Part(
                "documented",
                # A policy file with a named owner is the documented policy keyaudit can see.
                rules=("cek_policy_present", "cek_policy_owner_assigned"),
                decisive=True,
                not_assessed=(
                    "The content and completeness of the written policy document; keyaudit sees only the "
                    "fields of its policy file (identity, owner, roles, thresholds)."
                ),
            ),
            Part(
                "approved",
                rules=("cek_policy_approved",),
                decisive=True,
                not_assessed=(
                    "The approval record itself (committee minutes, signatures): keyaudit reads only the "
                    "policy file's approved_by and approved_on fields and cannot confirm them."
                ),
            ),
            Part(
                "communicated",
                not_assessed=(
                    "Communication of the policy to the people it binds: publication, training records, "
                    "acknowledgements. Nothing a scanner reads shows this."
                ),
            ),
            Part(
                "applied",
                # Every cloud rule mapped to a CEK control checks keys against the policy.
                controls=_CEK_CONTROLS,
                exclude=("scan_coverage_complete",),  # judges the scan, not the keys: see "evaluated"
                not_assessed=(
                    "Cryptography outside the scanned scopes and key services (application-level "
                    "encryption, on-premises HSMs, keys held by third parties), and whether data is "
                    "actually encrypted with these keys."
                ),
            ),
            Part(
                "evaluated",
                # This run is itself an evaluation; its completeness is scan_coverage_complete.
                rules=("scan_coverage_complete",),
                not_assessed=(
                    "Evaluations other than this keyaudit run: internal audits, management reviews, "
                    "effectiveness measures, and whether scans run on a schedule."
                ),
            ),
            Part(
                "maintained",
                # An overdue review weakens "maintained" but is answered in full by CEK-01.2.
                rules=("cek_policy_reviewed_within_interval",),
                not_assessed=(
                    "The policy's change history and version control; keyaudit sees only its version "
                    "and last_reviewed date."
                ),
            ),
        ),
    ),
    Question(
        id="CEK-01.2",
        control="CEK-01",
        text=(
            "Are cryptography, encryption, and key management policies and procedures reviewed and "
            "updated at least annually or upon significant changes?"
        ),
        parts=(
            Part(
                "policy reviewed at least annually",
                rules=("cek_policy_reviewed_within_interval",),
                decisive=True,
                annual=True,
                not_assessed=(
                    "The review record (who reviewed, what was found, what changed): keyaudit trusts the "
                    "policy file's last_reviewed date."
                ),
            ),
            Part(
                "roles reviewed at least annually",
                rules=("cek_roles_reviewed_within_interval",),
                annual=True,
                not_assessed=(
                    "The records of the role reviews (access recertification) behind the roles' "
                    "last_reviewed dates."
                ),
            ),
            Part(
                "updated upon significant changes",
                not_assessed=(
                    "Whether the policy and procedures were updated after significant changes (incidents, "
                    "new providers or services, regulatory change): keyaudit cannot tell which changes "
                    "were significant or whether an update followed."
                ),
            ),
        ),
    ),
    Question(
        id="CEK-02.1",
        control="CEK-02",
        text=(
            "Are cryptography, encryption, and key management roles and responsibilities defined and "
            "implemented?"
        ),
        drift=True,
        parts=(
            Part(
                "defined",
                rules=("cek_roles_defined", "cek_roles_have_alternates"),
                decisive=True,
                not_assessed=(
                    "The responsibilities behind the roles (job descriptions, RACI, segregation "
                    "rationale) and the people behind each principal: keyaudit sees which principals "
                    "the policy file declares per role."
                ),
            ),
            Part(
                "implemented",
                # Segregation of duties, declared vs effective access, and least privilege: every
                # cloud rule mapped to CEK-02.
                controls=("CSA-AICM:CEK-02",),
                not_assessed=(
                    "Group and role membership in the identity provider beyond what the scan resolved, "
                    "just-in-time elevation (PIM/PAM) and break-glass procedures, split knowledge and "
                    "dual control of key material outside the cloud key services, and access in scopes "
                    "that were not scanned."
                ),
            ),
        ),
    ),
)

_STATUS_ORDER = {Status.FAIL: 0, Status.ERROR: 1, Status.UNKNOWN: 2, Status.PASS: 4}

# Per-key drift from the segregation rules' evidence: rule -> (evidence list, its full count, category).
_KEY_DRIFT = {
    "key_admin_separated_from_use": ("conflicting_principals", "conflicting_principal_count", "conflicts"),
    "key_admins_declared": (
        "undeclared_administrators",
        "undeclared_administrator_count",
        "undeclared_administrators",
    ),
    "key_users_declared": ("undeclared_users", "undeclared_user_count", "undeclared_users"),
}
# Grants at scope level or above that reach every key of a scope: rule -> (evidence list, what it means).
_SCOPE_DRIFT = {
    "no_wildcard_key_admin": ("undeclared_principals", "administers every key, not a declared administrator"),
    "no_decrypt_on_all_keys": ("principals", "can decrypt with every key"),
    "key_scope_has_no_owner": ("owners", "owner-level control: can administer access and use every key"),
}


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list | tuple) else []


def _via(entry: Mapping[str, Any]) -> str | None:
    """How a principal got its access, from the rules' evidence (one ``via`` or a list of sources)."""
    if isinstance(entry.get("via"), str):
        return str(entry["via"])
    sources = entry.get("sources")
    if isinstance(sources, list):
        vias = [str(s["via"]) for s in sources if isinstance(s, Mapping) and s.get("via")]
        if vias:
            more = int(entry.get("source_count") or len(sources)) - len(vias[:3])
            return "; ".join(vias[:3]) + (f"; and {more} more" if more > 0 else "")
    return None


def _finding_entry(finding: Finding) -> dict[str, Any]:
    resource = finding.resource
    return {
        "finding_id": finding.finding_id,
        "rule_id": finding.rule_id,
        "status": finding.status.value,
        "severity": finding.severity.value,
        "provider": finding.provider,
        "scope": finding.scope,
        "location": finding.location,
        "resource": {"uid": resource.uid, "type": resource.type, "name": resource.name},
        "message": finding.message,
        "waived": finding.waived,
    }


class _PartState:
    """What is kept of one part while findings stream: the best FINDINGS_PER_PART and a few notes."""

    def __init__(self) -> None:
        # Max-heap by "least important": the root is the first to drop when a better finding arrives.
        self.sample: list[tuple[tuple[int, int, int], dict[str, Any]]] = []
        self.notes: dict[str, None] = {}
        self.too_long_interval = False

    def offer(self, finding: Finding, seq: int) -> None:
        status_rank = 3 if finding.waived and finding.status.is_failing else _STATUS_ORDER[finding.status]
        # Smaller is more important; negated for the max-heap on top of heapq's min-heap.
        key = (-status_rank, finding.severity.rank, -seq)
        if len(self.sample) < FINDINGS_PER_PART:
            heapq.heappush(self.sample, (key, _finding_entry(finding)))
        elif key > self.sample[0][0]:
            heapq.heapreplace(self.sample, (key, _finding_entry(finding)))

    def findings(self) -> list[dict[str, Any]]:
        return [entry for _, entry in sorted(self.sample, reverse=True)]


class AnswerSheet:
    """Aggregates streamed findings into the answers; ``build`` returns the documented structure."""

    def __init__(self, questions: tuple[Question, ...] = QUESTIONS) -> None:
        self.questions = questions
        self._parts = {(q.id, p.name): _PartState() for q in questions for p in q.parts}
        self._routes: dict[tuple[str, str], list[tuple[str, list[tuple[Part, _PartState]]]]] = {}
        self._controls: dict[str, tuple[str, ...]] = {}
        self._titles: dict[str, str] = {}
        self._question_scopes: dict[str, dict[str, None]] = {q.id: {} for q in questions}
        self._gap_scopes: dict[str, dict[str, None]] = {q.id: {} for q in questions}
        self._seq = itertools.count()
        self._listed = 0
        # Drift of CEK-02: key uid -> entry, and the totals over every key (listed or not).
        self._drift_keys: dict[str, dict[str, Any]] = {}
        self._drift_totals: Counter[str] = Counter()
        self._drift_omitted = 0  # failing findings of keys beyond DRIFT_KEYS
        self._scope_drift: list[dict[str, Any]] = []
        self._scope_drift_total = 0

    # ------------------------------------------------------------------------------------ streaming
    def add(self, finding: Finding) -> None:
        self._listed += 1
        route = self._routes.get((finding.rule_id, finding.provider))
        if route is None:
            route = self._route(finding)
        seq = next(self._seq)
        for question_id, parts in route:
            for part, state in parts:
                state.offer(finding, seq)
                if part.annual:
                    self._check_annual(state, finding)
            if finding.provider != POLICY_PROVIDER:
                where = f"{finding.provider}:{finding.scope}"
                scopes = self._question_scopes[question_id]
                if where not in scopes and len(scopes) < QUESTION_SCOPES:
                    scopes[where] = None
                if finding.status in (Status.UNKNOWN, Status.ERROR):
                    self._gap_scopes[question_id][where] = None
        if finding.status is not Status.PASS:
            self._add_drift(finding)

    def _route(self, finding: Finding) -> list[tuple[str, list[tuple[Part, _PartState]]]]:
        """The parts a rule's findings of one provider bear on, worked out once per (rule, provider)."""
        self._controls.setdefault(finding.rule_id, finding.controls)
        self._titles.setdefault(finding.rule_id, finding.title)
        route = []
        for question in self.questions:
            parts = [
                (part, self._parts[(question.id, part.name)])
                for part in question.parts
                if part.bears(finding.rule_id, finding.provider, finding.controls)
            ]
            if parts:
                route.append((question.id, parts))
        self._routes[(finding.rule_id, finding.provider)] = route
        return route

    @staticmethod
    def _check_annual(state: _PartState, finding: Finding) -> None:
        interval = finding.evidence.get("review_interval_days")
        if isinstance(interval, int) and interval > 365:
            state.too_long_interval = True
            state.notes[
                f"{finding.rule_id}: the review interval is {interval} days, longer than the annual review "
                "the question asks for (policy.review_interval_days)."
            ] = None

    def _add_drift(self, finding: Finding) -> None:
        if finding.rule_id in _KEY_DRIFT:
            if finding.status is not Status.FAIL:
                if finding.rule_id == "key_admin_separated_from_use":  # once per key, not per rule
                    self._drift_totals["keys_not_judged"] += 1
                return
            list_field, count_field, category = _KEY_DRIFT[finding.rule_id]
            listed = finding.evidence.get(list_field)
            entries = (
                [e for e in listed if isinstance(e, Mapping)] if isinstance(listed, list | tuple) else []
            )
            count = finding.evidence.get(count_field)
            total = count if isinstance(count, int) else len(entries)
            self._drift_totals[category] += total
            self._drift_totals[f"keys_with_{category}"] += 1
            uid = finding.resource.uid
            entry = self._drift_keys.get(uid)
            if entry is None:
                if len(self._drift_keys) >= DRIFT_KEYS:
                    self._drift_omitted += 1
                    return
                entry = self._drift_keys[uid] = {
                    "key": {
                        "uid": uid,
                        "name": finding.resource.name,
                        "type": finding.resource.type,
                        "provider": finding.provider,
                        "scope": finding.scope,
                        "location": finding.location,
                    },
                    "waived": False,
                    "conflicts": [],
                    "conflict_count": 0,
                    "undeclared_administrators": [],
                    "undeclared_administrator_count": 0,
                    "undeclared_users": [],
                    "undeclared_user_count": 0,
                }
            entry["waived"] = entry["waived"] or finding.waived
            entry[_COUNT_FIELD[category]] = total
            for principal in entries:
                item: dict[str, Any] = {"principal": str(principal.get("uid")), "kind": principal.get("kind")}
                if category == "conflicts":
                    item["admin_capabilities"] = _strings(principal.get("admin_capabilities"))
                    item["use_capabilities"] = _strings(principal.get("use_capabilities"))
                else:
                    item["capabilities"] = _strings(principal.get("capabilities"))
                item["via"] = _via(principal)
                entry[category].append(item)
        elif finding.rule_id in _SCOPE_DRIFT and finding.status is Status.FAIL:
            list_field, meaning = _SCOPE_DRIFT[finding.rule_id]
            listed = finding.evidence.get(list_field)
            for principal in listed if isinstance(listed, list | tuple) else []:
                if not isinstance(principal, Mapping):
                    continue
                self._scope_drift_total += 1
                if len(self._scope_drift) < DRIFT_SCOPE_ENTRIES:
                    self._scope_drift.append(
                        {
                            "provider": finding.provider,
                            "scope": finding.scope,
                            "rule_id": finding.rule_id,
                            "meaning": meaning,
                            "principal": str(principal.get("uid")),
                            "kind": principal.get("kind"),
                            "capabilities": _strings(principal.get("capabilities")),
                            "via": _via(principal),
                            "waived": finding.waived,
                        }
                    )

    # ---------------------------------------------------------------------------------------- build
    def build(self, scan: Mapping[str, Any], summary: Summary) -> dict[str, Any]:
        controls_of = self._controls_lookup(summary)
        questions = [self._question(q, summary, controls_of) for q in self.questions]
        for question in questions:
            if "drift" in question:  # CEK-02.1: who may administer and use the keys behind AI workloads
                question["ai_workloads"] = scan.get("ai_workloads")
        policy = scan.get("policy")
        return {
            "schema": SCHEMA,
            "generated_at": scan.get("finished_at"),
            "run_id": scan.get("run_id"),
            "framework": FRAMEWORK,
            "tool_version": scan.get("tool_version"),
            "mode": scan.get("mode"),
            "evaluated_as_of": scan.get("evaluated_as_of"),
            "policy": policy,
            "answer_logic": ANSWER_LOGIC,
            "findings_listed": "all" if self._listed >= summary.total else "failing only (--only-failed)",
            "questions": questions,
            "scopes": list(scan.get("scopes") or []),
            "coverage": list(scan.get("coverage") or []),
        }

    def _controls_lookup(self, summary: Summary) -> Callable[[str], tuple[str, ...]]:
        """Rule id -> controls. Rules whose findings were all left out (--only-failed) are looked up in
        the rule catalogue, so their passes still count."""
        missing = {rule_id for (rule_id, *_rest) in summary.counts if rule_id not in self._controls}
        if missing:
            from scanner.engine import RuleCatalogError, discover_rules

            try:
                for rule in discover_rules():
                    if rule.meta.id in missing:
                        self._controls[rule.meta.id] = rule.meta.controls
                        self._titles.setdefault(rule.meta.id, rule.meta.title)
            except RuleCatalogError:
                pass  # those rules then bear only where a part names them
        return lambda rule_id: self._controls.get(rule_id, ())

    def _question(
        self, question: Question, summary: Summary, controls_of: Callable[[str], tuple[str, ...]]
    ) -> dict[str, Any]:
        parts = [self._part(question, part, summary, controls_of) for part in question.parts]
        answer = _question_answer(parts)
        unknown = sum(p["counts"]["unknown"] for p in parts if p["assessable"])
        errors = sum(p["counts"]["error"] for p in parts if p["assessable"])
        out: dict[str, Any] = {
            "id": question.id,
            "control": f"CSA-AICM:{question.control}",
            "question": question.text,
            "answer": answer,
            "rationale": _rationale(answer, parts),
            "parts": parts,
            "not_assessed_by_keyaudit": [
                {"part": p["part"], "what": p["not_assessed"]} for p in parts if p["not_assessed"]
            ],
            "scopes": sorted(self._question_scopes[question.id]),
            "coverage": {
                "unknown_findings": unknown,
                "error_findings": errors,
                "scopes_with_gaps": sorted(self._gap_scopes[question.id]),
            },
        }
        if question.drift:
            out["drift"] = self._drift(summary)
        return out

    def _part(
        self,
        question: Question,
        part: Part,
        summary: Summary,
        controls_of: Callable[[str], tuple[str, ...]],
    ) -> dict[str, Any]:
        per_rule: dict[str, Counter[str]] = {}
        for (rule_id, provider, _severity, status, waived), count in summary.counts.items():
            if not part.bears(rule_id, provider, controls_of(rule_id)):
                continue
            bucket = per_rule.setdefault(rule_id, Counter())
            bucket["waived" if waived and status.is_failing else status.value] += count
        totals: Counter[str] = Counter()
        for bucket in per_rule.values():
            totals.update(bucket)
        state = self._parts[(question.id, part.name)]
        notes = list(state.notes)
        answer = _part_answer(part, totals)
        if answer == YES and state.too_long_interval:
            answer = PARTIAL
        if totals["waived"]:
            notes.append(
                f"{totals['waived']} failing finding(s) are waived and count as accepted exceptions."
            )
        counts = {k: totals[k] for k in ("pass", "fail", "unknown", "error", "waived")}
        return {
            "part": part.name,
            "answer": answer,
            "assessable": part.assessable,
            "decisive": part.decisive,
            "counts": counts,
            "rules": [
                {
                    "rule_id": rule_id,
                    "title": self._titles.get(rule_id),
                    "counts": {k: bucket[k] for k in ("pass", "fail", "unknown", "error", "waived")},
                }
                for rule_id, bucket in sorted(per_rule.items())
            ],
            "findings": state.findings(),
            "findings_total": sum(counts.values()),
            "notes": notes,
            "not_assessed": part.not_assessed,
        }

    def _drift(self, summary: Summary) -> dict[str, Any]:
        checked = sum(
            count
            for (rule_id, _p, _s, status, _w), count in summary.counts.items()
            if rule_id == "key_admin_separated_from_use" and status in (Status.PASS, Status.FAIL)
        )
        keys = sorted(
            self._drift_keys.values(),
            key=lambda e: (-e["conflict_count"], e["key"]["provider"], e["key"]["scope"], e["key"]["uid"]),
        )
        return {
            "description": (
                "Effective access found in the cloud compared with the roles the CEK policy declares: per key, "
                "principals that can both administer and use it (segregation conflicts), administrators and "
                "users the policy does not declare; and grants at scope level or above that reach every key."
            ),
            "keys_checked": checked,
            "keys_not_judged": self._drift_totals["keys_not_judged"],
            # Exact while every key with drift is listed; past DRIFT_KEYS only the per-kind counts are.
            "keys_with_drift": None if self._drift_omitted else len(self._drift_keys),
            "keys_with_conflicts": self._drift_totals["keys_with_conflicts"],
            "keys_with_undeclared_administrators": self._drift_totals["keys_with_undeclared_administrators"],
            "keys_with_undeclared_users": self._drift_totals["keys_with_undeclared_users"],
            "findings_not_listed": self._drift_omitted,
            "keys_listed": len(keys),
            "conflict_count": self._drift_totals["conflicts"],
            "undeclared_administrator_count": self._drift_totals["undeclared_administrators"],
            "undeclared_user_count": self._drift_totals["undeclared_users"],
            "keys": keys,
            "scope_wide": self._scope_drift,
            "scope_wide_count": self._scope_drift_total,
        }


_COUNT_FIELD = {
    "conflicts": "conflict_count",
    "undeclared_administrators": "undeclared_administrator_count",
    "undeclared_users": "undeclared_user_count",
}


def _part_answer(part: Part, counts: Mapping[str, int]) -> str:
    passed = counts.get("pass", 0) + counts.get("waived", 0)
    failed = counts.get("fail", 0)
    unjudged = counts.get("unknown", 0) + counts.get("error", 0)
    if not part.assessable or passed + failed == 0:
        return NOT_ASSESSED
    if failed == 0 and unjudged == 0:
        return YES
    if passed == 0:
        return NO
    return PARTIAL


def _question_answer(parts: list[dict[str, Any]]) -> str:
    judged = [p for p in parts if p["assessable"]]
    answers = [p["answer"] for p in judged]
    if any(p["decisive"] and p["answer"] == NO for p in judged):
        return NO
    assessed = [a for a in answers if a != NOT_ASSESSED]
    if not assessed or (len(assessed) < len(answers) and all(a == YES for a in assessed)):
        return NOT_ASSESSED
    if all(a == YES for a in answers):
        return YES
    if all(a == NO for a in assessed):
        return NO
    return PARTIAL


def _rationale(answer: str, parts: list[dict[str, Any]]) -> str:
    def describe(part: dict[str, Any]) -> str:
        c = part["counts"]
        figures = [f"{c[k]} {k}" for k in ("pass", "fail", "unknown", "error", "waived") if c[k]]
        return f"{part['part']}: {part['answer']}" + (f" ({', '.join(figures)})" if figures else "")

    judged = [describe(p) for p in parts if p["assessable"]]
    outside = [p["part"] for p in parts if not p["assessable"]]
    text = f"{answer}. " + "; ".join(judged) + "."
    unjudged = [p["part"] for p in parts if p["assessable"] and p["answer"] == NOT_ASSESSED]
    if answer == NOT_ASSESSED and unjudged:
        text += f" Nothing failed, but keyaudit could not judge {', '.join(unjudged)}: see the coverage gaps."
    if outside:
        text += f" Not assessed by keyaudit: {', '.join(outside)} (evidence must come from elsewhere)."
    return text


# ------------------------------------------------------------------------------------------- writers
class CaiqJsonWriter(FindingWriter):
    format = "caiq"
    extension = "caiq.json"
    description = "AI-CAIQ answer sheet for CEK-01/CEK-02 (JSON): answers with findings, gaps and drift"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sheet = AnswerSheet()

    def write(self, finding: Finding) -> None:
        self.sheet.add(finding)

    def close(self, scan: dict[str, Any], summary: Summary) -> None:
        document = self.sheet.build(scan, summary)
        self.stream.write(
            orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS) + b"\n"
        )


class CaiqMarkdownWriter(CaiqJsonWriter):
    format = "caiq-md"
    extension = "caiq.md"
    description = "AI-CAIQ answer sheet for CEK-01/CEK-02 (Markdown, for people)"

    def close(self, scan: dict[str, Any], summary: Summary) -> None:
        self.stream.write(render_markdown(self.sheet.build(scan, summary)).encode("utf-8"))


# ------------------------------------------------------------------------------------------ Markdown
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\u2028\u2029\x85]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Characters that can start Markdown markup inside a line (GFM; ``|`` ends a table cell). An underscore
# between two letters or digits starts no emphasis, so rule ids stay readable. HTML's three become
# entities, so no renderer can see a tag.
_MARKUP = re.compile(r"([\\`*\[\]|~!#]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_HTML_CHARS = re.compile("[&<>]")
MARKDOWN_FINDINGS_PER_PART = 15


def md(value: Any) -> str:
    """Text from a finding (maybe from the cloud) as inert Markdown that stays inside one table cell."""
    if value is None:
        return "-"
    text = _LINE_BREAKS.sub(" ", str(value))
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    text = _MARKUP.sub(lambda m: "\\" + m.group(), text)
    return _HTML_CHARS.sub(lambda m: _HTML[m.group()], text) or "-"


def _row(*cells: Any) -> str:
    return "| " + " | ".join(md(c) for c in cells) + " |"


def _table(header: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> list[str]:
    lines = [_row(*header), "|" + "|".join("---" for _ in header) + "|"]
    lines.extend(_row(*r) for r in rows)
    return lines


def render_markdown(sheet: Mapping[str, Any]) -> str:
    out: list[str] = ["# AI-CAIQ answer sheet: CEK-01 and CEK-02", ""]
    policy = sheet.get("policy")
    out += [
        f"Framework: {md(sheet['framework'])}  ",
        f"keyaudit {md(sheet.get('tool_version'))}, run {md(sheet.get('run_id'))} ({md(sheet.get('mode'))}), "
        f"generated {md(sheet.get('generated_at'))}, evaluated as of {md(sheet.get('evaluated_as_of'))}  ",
        (
            f"CEK policy: {md(policy.get('path'))} (sha256 {md(policy.get('sha256'))})"
            if isinstance(policy, Mapping)
            else "CEK policy: none given (keyaudit's built-in defaults)"
        ),
        "",
    ]
    if sheet.get("findings_listed") != "all":
        out += ["Passing findings were left out of this run's outputs; the counts include them.", ""]
    out += _table(
        ("Question", "Answer", "Question text"),
        ((q["id"], q["answer"], q["question"]) for q in sheet["questions"]),
    )
    out += ["", "## How answers are derived", "", md(sheet["answer_logic"]["scope"]), ""]
    logic = sheet["answer_logic"]
    out += _table(
        ("Answer", "For a part", "For a question"),
        ((a, logic["part"][a], logic["question"][a]) for a in (YES, PARTIAL, NO, NOT_ASSESSED)),
    )
    for question in sheet["questions"]:
        out += _question_md(question)
    out += ["", "## Scopes scanned", ""]
    out += _table(
        ("Provider", "Scope", "Name", "Kind", "Locations"),
        (
            (
                s.get("provider"),
                s.get("uid"),
                s.get("name"),
                s.get("kind"),
                ", ".join(s.get("locations") or []),
            )
            for s in sheet["scopes"]
        ),
    )
    coverage = sheet["coverage"]
    out += ["", f"## Coverage gaps ({len(coverage)})", ""]
    if coverage:
        out += _table(
            ("Provider", "Scope", "Location", "API", "Error", "Message"),
            (
                (
                    g.get("provider"),
                    g.get("scope"),
                    g.get("location"),
                    g.get("api"),
                    g.get("error_class"),
                    g.get("message"),
                )
                for g in coverage
            ),
        )
    else:
        out.append("Every scope, location and API needed was read.")
    return "\n".join(out) + "\n"


def _question_md(question: Mapping[str, Any]) -> list[str]:
    out = ["", f"## {md(question['id'])}: {md(question['question'])}", ""]
    out += [f"**Answer: {md(question['answer'])}**", "", md(question["rationale"]), ""]
    out += _table(
        ("Part", "Answer", "Pass", "Fail", "Unknown", "Error", "Waived", "Rules"),
        (
            (
                p["part"] + (" (decisive)" if p["decisive"] else ""),
                p["answer"],
                *(p["counts"][k] for k in ("pass", "fail", "unknown", "error", "waived")),
                ", ".join(r["rule_id"] for r in p["rules"]) or "none: outside what a scanner sees",
            )
            for p in question["parts"]
        ),
    )
    notes = [n for p in question["parts"] for n in p["notes"]]
    if notes:
        out += [""] + [f"- {md(n)}" for n in notes]
    out += ["", "### Not assessed by keyaudit", ""]
    out += [f"- **{md(item['part'])}**: {md(item['what'])}" for item in question["not_assessed_by_keyaudit"]]
    coverage = question["coverage"]
    scopes = question["scopes"]
    out += [
        "",
        f"Scopes with findings behind this answer: {md(', '.join(scopes)) if scopes else 'none'}. "
        f"Findings that could not be judged: {coverage['unknown_findings']} unknown, "
        f"{coverage['error_findings']} error"
        + (f" (in {md(', '.join(coverage['scopes_with_gaps']))})." if coverage["scopes_with_gaps"] else "."),
    ]
    if "drift" in question:
        out += _drift_md(question["drift"])
    if question.get("ai_workloads"):
        out += _ai_md(question["ai_workloads"])
    out += ["", "### Findings behind the answer"]
    for part in question["parts"]:
        findings = part["findings"][:MARKDOWN_FINDINGS_PER_PART]
        if not findings:
            continue
        out += [
            "",
            f"#### {md(part['part'])}: {len(findings)} of {part['findings_total']} shown, failing first",
            "",
        ]
        out += _table(
            ("Status", "Severity", "Rule", "Provider", "Scope", "Resource", "Message"),
            (
                (
                    f["status"] + (" (waived)" if f["waived"] else ""),
                    f["severity"],
                    f["rule_id"],
                    f["provider"],
                    f["scope"] + (f"/{f['location']}" if f["location"] else ""),
                    f["resource"]["name"] or f["resource"]["uid"],
                    f["message"],
                )
                for f in findings
            ),
        )
    return out


def _ai_md(ai: Mapping[str, Any]) -> list[str]:
    """Roles around the keys behind AI workloads: each AI resource, its key, administrators, users, verdicts."""
    from scanner.ai_workloads import verdict_text

    out = [
        "",
        "### AI workloads: the keys behind them and who holds them",
        "",
        f"{ai['resource_count']} AI resource(s) and {ai['key_count']} key(s) protecting AI workloads"
        + (
            f"; the first {ai['resources_listed']} are listed."
            if ai["resources_listed"] < ai["resource_count"]
            else "."
        ),
        "",
    ]
    rows = []
    for resource in ai["resources"]:
        for key in resource["keys"] or [None]:
            if key is None:
                rows.append((resource["provider"], resource["uid"], resource["ai_service"],
                             resource["encryption"] or "not read", "-", "-", verdict_text(resource["verdicts"])))  # fmt: skip
                continue
            admins = ", ".join(key.get("administrators") or []) or str(key.get("administrator_count", "?"))
            users = ", ".join(key.get("users") or []) or str(key.get("user_count", "?"))
            rows.append((resource["provider"], resource["uid"], resource["ai_service"], key["uid"], admins, users,
                         verdict_text({**resource["verdicts"], **key["verdicts"]})))  # fmt: skip
    for key in ai["keys_used_by_ai_services_only"]:
        rows.append(("-", "AI service access: " + ", ".join(key.get("ai_principals") or []),
                     ", ".join(key.get("ai_services") or []), key["uid"],
                     ", ".join(key.get("administrators") or []), ", ".join(key.get("users") or []),
                     verdict_text(key["verdicts"])))  # fmt: skip
    out += _table(("Provider", "AI resource", "Service", "Key", "Administrators", "Users", "Verdicts"), rows)
    return out


def _drift_md(drift: Mapping[str, Any]) -> list[str]:
    out = ["", "### Policy vs. reality drift", "", md(drift["description"]), ""]
    with_drift = drift["keys_with_drift"]
    out.append(
        f"Keys checked: {drift['keys_checked']}; keys that could not be judged: {drift['keys_not_judged']}; "
        + (
            f"keys with drift: {with_drift}. "
            if with_drift is not None
            else f"keys with drift: more than {drift['keys_listed']}, of which {drift['keys_listed']} are listed. "
        )
        + f"Segregation conflicts: {drift['conflict_count']} on {drift['keys_with_conflicts']} key(s); "
        f"undeclared administrators: {drift['undeclared_administrator_count']} on "
        f"{drift['keys_with_undeclared_administrators']} key(s); undeclared users: "
        f"{drift['undeclared_user_count']} on {drift['keys_with_undeclared_users']} key(s)."
    )

    def key_cell(entry: Mapping[str, Any]) -> str:
        key = entry["key"]
        name = key.get("name")
        text = f"{name} ({key['uid']})" if name and name != key["uid"] else str(key["uid"])
        return text + (" [waived]" if entry.get("waived") else "")

    def where(entry: Mapping[str, Any]) -> str:
        key = entry["key"]
        return f"{key['provider']}:{key['scope']}" + (f"/{key['location']}" if key.get("location") else "")

    sections = (
        ("conflicts", "Segregation conflicts: principals that can administer and use the same key",
         ("Key", "Where", "Principal", "Kind", "Administers", "Uses", "Granted by"),
         lambda p: (p["kind"], ", ".join(p["admin_capabilities"]), ", ".join(p["use_capabilities"]), p["via"])),
        ("undeclared_administrators", "Administrators the policy does not declare",
         ("Key", "Where", "Principal", "Kind", "Capabilities", "Granted by"),
         lambda p: (p["kind"], ", ".join(p["capabilities"]), p["via"])),
        ("undeclared_users", "Users the policy does not declare",
         ("Key", "Where", "Principal", "Kind", "Capabilities", "Granted by"),
         lambda p: (p["kind"], ", ".join(p["capabilities"]), p["via"])),
    )  # fmt: skip
    for category, title, header, cells in sections:
        rows = [
            (key_cell(entry), where(entry), p["principal"], *cells(p))
            for entry in drift["keys"]
            for p in entry[category]
        ]
        total = drift[_COUNT_FIELD[category]]
        shown = f"{len(rows)}" if len(rows) == total else f"{len(rows)} listed of {total}"
        out += ["", f"#### {title} ({shown})", ""]
        out += _table(header, rows) if rows else ["None found."]
    scope_wide = drift["scope_wide"]
    total = drift["scope_wide_count"]
    shown = f"{total}" if len(scope_wide) == total else f"{len(scope_wide)} listed of {total}"
    out += ["", f"#### Grants reaching every key of a scope ({shown})", ""]
    if scope_wide:
        out += _table(
            ("Where", "Principal", "Kind", "What it can do", "Granted by", "Rule"),
            (
                (
                    f"{e['provider']}:{e['scope']}",
                    e["principal"],
                    e["kind"],
                    e["meaning"],
                    e["via"],
                    e["rule_id"],
                )
                for e in scope_wide
            ),
        )
    else:
        out.append("None found.")
    return out
