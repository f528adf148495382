"""One self-contained HTML file for auditors: summary, charts, per-key table, segregation of duties, findings.

Nothing is fetched: CSS, JavaScript and the SVG charts are inline, and a Content-Security-Policy forbids
every network load. The header, summaries and charts are rendered here (readable without JavaScript);
the interactive views are built in the browser from a JSON block, with DOM text nodes only.

Memory stays bounded for huge runs: per-resource and per-rule aggregates are kept, but only the first
``max_findings`` failing findings (fail, unknown, error) keep their message and evidence; passes are
counted, never stored. The report states the cap and what it left out.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import orjson

from scanner.findings import Finding, Summary
from scanner.inventory import ScopeKind
from scanner.output.base import FindingWriter
from scanner.rule import Severity, Status

DETAILED_FINDINGS_CAP = 20_000
EVIDENCE_BYTES_CAP = 64 * 1024  # one finding's evidence in the report; the JSON result keeps all of it
PRINCIPALS_PER_ROLE_CAP = 500  # per key and role in the segregation-of-duties view
_BATCH = 2048  # listed findings serialised per write

# Rules whose evidence lists a key's administrators and users (SPEC 5: segregation of duties).
SOD_RULES = frozenset(
    {
        "key_admin_separated_from_use",
        "key_admins_declared",
        "key_users_declared",
        "key_has_multiple_admins",
        "key_users_limited",
    }
)

_STATUSES = tuple(Status)
_SEVERITIES = tuple(Severity)  # most severe first
# A resource's worst status: a verified failure outranks an error or an unknown verdict.
_STATUS_WEIGHT = {Status.PASS: 0, Status.UNKNOWN: 1, Status.ERROR: 2, Status.FAIL: 3}
_SEVERITY_COLOUR = {
    Severity.CRITICAL: "#7f1d1d",
    Severity.HIGH: "#dc2626",
    Severity.MEDIUM: "#f59e0b",
    Severity.LOW: "#0ea5e9",
    Severity.INFO: "#9ca3af",
}
_SCOPE_TYPES = frozenset(kind.value for kind in ScopeKind)
_STORE_HINTS = ("store", "vault", "hsm", "keyring", "ekm")

# C0/C1 controls (ANSI escapes, NUL, ...) and bidirectional overrides are shown as escapes, never as
# characters: a resource name must not recolour a terminal-pasted line or reorder what the reader sees.
_INVISIBLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile(r"[\n\t]")


_SHORT_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(value: object, *, one_line: bool = True) -> str:
    """The text a reader should see: control characters as escapes (and line breaks too if one_line)."""
    text = _INVISIBLE.sub(_escape_char, "" if value is None else str(value))
    return _LINE_BREAKS.sub(_escape_char, text) if one_line else text


def esc(value: object, *, one_line: bool = True) -> str:
    """HTML-escaped visible text, safe in element content and in quoted attribute values."""
    return html.escape(visible(value, one_line=one_line), quote=True)


def script_json(value: Any) -> bytes:
    """JSON for a ``<script type="application/json">`` block: no ``<`` at all, so neither ``</script>``
    nor ``<!--`` can end or change the block; JSON.parse reads ``\\u003c`` back as ``<``."""
    return orjson.dumps(value, default=_json_default, option=orjson.OPT_NON_STR_KEYS).replace(
        b"<", b"\\u003c"
    )


def resource_kind(resource_type: str) -> str:
    """Key, key store, scope, policy or other, from the resource type alone (writers see no inventory)."""
    lowered = resource_type.lower()
    if lowered == "cek_policy":
        return "policy"
    if resource_type in _SCOPE_TYPES:
        return "scope"
    if lowered == "key" or lowered.endswith(("::key", "/cryptokey", "/keys")):
        return "key"
    if lowered.startswith("key_store:") or any(hint in lowered for hint in _STORE_HINTS):
        return "key store"
    return "other"


def _natural(text: str) -> tuple[Any, ...]:
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text))


def _json_default(value: object) -> object:
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


@dataclass(slots=True)
class _Rule:
    index: int
    id: str
    title: str
    severity: Severity
    controls: tuple[str, ...]
    remediation: dict[str, str] = field(default_factory=dict)
    not_listed: int = 0  # failing findings beyond the cap


@dataclass(slots=True)
class _Resource:
    index: int
    provider: str
    scope: str
    location: str | None
    uid: str
    type: str
    name: str | None
    counts: list[int] = field(default_factory=lambda: [0, 0, 0, 0])  # per _STATUSES, waived excluded
    waived: int = 0
    failing: list[tuple[int, str, bool]] = field(default_factory=list)  # (rule index, status, waived)


@dataclass(slots=True)
class _Principal:
    uid: str
    kind: str
    capabilities: set[str] = field(default_factory=set)
    flags: set[str] = field(default_factory=set)  # "conflict", "undeclared"
    admin_capabilities: tuple[str, ...] = ()
    use_capabilities: tuple[str, ...] = ()
    via: tuple[str, ...] = ()


@dataclass(slots=True)
class _Sod:
    resource: int
    admins: dict[str, _Principal] = field(default_factory=dict)
    users: dict[str, _Principal] = field(default_factory=dict)
    admin_count: int = 0
    user_count: int = 0
    statuses: dict[str, str] = field(default_factory=dict)
    unreadable: list[Any] = field(default_factory=list)
    dropped: int = 0  # principals beyond PRINCIPALS_PER_ROLE_CAP


def _asset(name: str) -> str:
    return resources.files("scanner.output").joinpath("html", name).read_text(encoding="utf-8")


class HtmlWriter(FindingWriter):
    format = "html"
    extension = "html"
    description = "self-contained HTML report for auditors (summary, charts, keys, segregation of duties)"

    def __init__(self, *args: Any, max_findings: int = DETAILED_FINDINGS_CAP, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_findings = max_findings
        self._rules: dict[str, _Rule] = {}
        self._resources: dict[tuple[str, str], _Resource] = {}
        self._sod: dict[int, _Sod] = {}
        self._details: list[dict[str, Any]] = []
        self._seen = 0
        self._not_listed = 0
        self._strings: dict[str, str] = {}  # scopes, locations, types repeat: keep one copy of each

    # ------------------------------------------------------------------------------------------ streaming

    def _intern(self, value: str) -> str:
        return self._strings.setdefault(value, value)

    def write(self, finding: Finding) -> None:
        self._seen += 1
        rule = self._rule(finding)
        resource = self._resource(finding)
        waived = finding.waived
        if waived:
            resource.waived += 1
        else:
            resource.counts[_STATUSES.index(finding.status)] += 1
        if finding.status.is_failing:
            resource.failing.append((rule.index, finding.status.value, waived))
            if len(self._details) < self.max_findings:
                self._details.append(self._detail(finding, rule, resource))
            else:
                rule.not_listed += 1
                self._not_listed += 1
        if finding.rule_id in SOD_RULES:
            self._add_sod(resource, finding)

    def _rule(self, finding: Finding) -> _Rule:
        rule = self._rules.get(finding.rule_id)
        if rule is None:
            rule = self._rules[finding.rule_id] = _Rule(
                index=len(self._rules),
                id=finding.rule_id,
                title=finding.title,
                severity=finding.severity,
                controls=tuple(finding.controls),
            )
        if finding.provider not in rule.remediation:
            rule.remediation[self._intern(finding.provider)] = finding.remediation
        return rule

    def _resource(self, finding: Finding) -> _Resource:
        ref = finding.resource
        key = (finding.provider, ref.uid)
        resource = self._resources.get(key)
        if resource is None:
            resource = self._resources[key] = _Resource(
                index=len(self._resources),
                provider=self._intern(finding.provider),
                scope=self._intern(finding.scope),
                location=self._intern(finding.location) if finding.location else None,
                uid=ref.uid,
                type=self._intern(ref.type),
                name=ref.name,
            )
        return resource

    def _detail(self, finding: Finding, rule: _Rule, resource: _Resource) -> dict[str, Any]:
        # orjson's result keeps a 4 KiB buffer whatever its length: an exact copy is what is kept.
        evidence = bytes(
            memoryview(orjson.dumps(finding.evidence, default=_json_default, option=orjson.OPT_NON_STR_KEYS))
        )
        if len(evidence) > EVIDENCE_BYTES_CAP:
            evidence = orjson.dumps(
                {
                    "note": f"evidence of {len(evidence):,} bytes shortened in the HTML report; "
                    "the JSON result (--format json) holds all of it",
                    "start": evidence[:4096].decode("utf-8", "replace"),
                }
            )
        detail: dict[str, Any] = {
            "id": finding.finding_id,
            "r": rule.index,
            "k": resource.index,
            "s": finding.status.value,
            "m": finding.message,
            "e": orjson.Fragment(evidence),
        }
        if finding.waived:
            detail["w"] = True
            detail["wv"] = dict(finding.waiver) if finding.waiver else None
        if finding.change:
            detail["ch"] = finding.change
            detail["fs"] = finding.first_seen
        return detail

    def _add_sod(self, resource: _Resource, finding: Finding) -> None:
        sod = self._sod.get(resource.index)
        if sod is None:
            sod = self._sod[resource.index] = _Sod(resource=resource.index)
        sod.statuses[finding.rule_id] = finding.status.value
        evidence = finding.evidence
        if finding.status is Status.UNKNOWN and not sod.unreadable:
            sod.unreadable = list(_records(evidence.get("unreadable")))[:10]
        sod.admin_count = max(sod.admin_count, _count(evidence.get("administrator_count")))
        sod.user_count = max(sod.user_count, _count(evidence.get("user_count")))
        for entry in _records(evidence.get("administrators")):
            self._principal(sod, sod.admins, entry)
        for entry in _records(evidence.get("users")):
            self._principal(sod, sod.users, entry)
        for entry in _records(evidence.get("undeclared_administrators")):
            self._principal(sod, sod.admins, entry, "undeclared")
        for entry in _records(evidence.get("undeclared_users")):
            self._principal(sod, sod.users, entry, "undeclared")
        for entry in _records(evidence.get("conflicting_principals")):
            for role in (sod.admins, sod.users):
                principal = self._principal(sod, role, entry, "conflict")
                if principal is not None:
                    principal.admin_capabilities = _strings(entry.get("admin_capabilities"))
                    principal.use_capabilities = _strings(entry.get("use_capabilities"))
                    principal.via = _via(entry.get("sources"))

    def _principal(
        self, sod: _Sod, role: dict[str, _Principal], entry: Mapping[str, Any], flag: str | None = None
    ) -> _Principal | None:
        uid = entry.get("uid")
        if not isinstance(uid, str):
            return None
        principal = role.get(uid)
        if principal is None:
            if len(role) >= PRINCIPALS_PER_ROLE_CAP:
                sod.dropped += 1
                return None
            principal = role[uid] = _Principal(uid=uid, kind=self._intern(str(entry.get("kind") or "")))
        principal.capabilities.update(self._intern(c) for c in _strings(entry.get("capabilities")))
        if flag:
            principal.flags.add(flag)
        if "undeclared" in principal.flags and not principal.via:
            principal.via = _via(entry.get("sources"))
        return principal

    # -------------------------------------------------------------------------------------------- close

    def close(self, scan: dict[str, Any], summary: Summary) -> None:
        self._complete_rules(summary)
        data = self._data(summary)
        script = _asset("report.js")
        digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
        page = _Page(scan, summary, self)
        head = page.head(digest) + page.body()
        self.stream.write(head.encode("utf-8"))
        # The listed findings are most of the data: serialised in batches, not as one huge document.
        self.stream.write(b'<script type="application/json" id="keyaudit-data">{"findings":[')
        for start in range(0, len(self._details), _BATCH):
            chunk = script_json(self._details[start : start + _BATCH])[1:-1]
            self.stream.write((b"," if start else b"") + chunk)
        self.stream.write(b"]," + script_json(data)[1:])
        self.stream.write(b"</script>\n<script>")
        self.stream.write(script.encode("utf-8"))
        self.stream.write(b"</script>\n</body>\n</html>\n")

    def _complete_rules(self, summary: Summary) -> None:
        """Rules that reached no writer (``--only-failed`` with only passes): metadata from the catalogue."""
        missing = {rule_id for (rule_id, *_), _n in summary.counts.items()} - set(self._rules)
        if not missing:
            return
        from scanner.engine import RuleCatalogError, discover_rules

        try:
            catalogue = {rule.meta.id: rule.meta for rule in discover_rules()}
        except (RuleCatalogError, ImportError):  # the report is still written; such rules show no controls
            catalogue = {}
        for (rule_id, _provider, severity, *_), _n in sorted(summary.counts.items()):
            if rule_id in self._rules:
                continue
            meta = catalogue.get(rule_id)
            self._rules[rule_id] = _Rule(
                index=len(self._rules),
                id=rule_id,
                title=meta.title if meta else rule_id,
                severity=severity,
                controls=meta.controls if meta else (),
                remediation=dict(meta.remediation) if meta else {},
            )

    def rule_counts(self, summary: Summary) -> dict[str, Counter[str]]:
        """Per rule, findings by status (complete: from the summary) and how many were waived."""
        counts: dict[str, Counter[str]] = {}
        for (rule_id, _provider, _severity, status, waived), n in summary.counts.items():
            bucket = counts.setdefault(rule_id, Counter())
            bucket[status.value] += n
            if waived:
                bucket["waived"] += n
        return counts

    def control_counts(self, summary: Summary) -> dict[str, tuple[Counter[str], list[str]]]:
        """Per control, findings by status summed over the rules that map to it, and those rules."""
        controls: dict[str, tuple[Counter[str], list[str]]] = {}
        for rule_id, counts in self.rule_counts(summary).items():
            rule = self._rules.get(rule_id)
            for control in rule.controls if rule else ():
                total, rules = controls.setdefault(control, (Counter(), []))
                total.update(counts)
                rules.append(rule_id)
        return controls

    def _data(self, summary: Summary) -> dict[str, Any]:
        rule_counts = self.rule_counts(summary)
        rules = sorted(self._rules.values(), key=lambda r: r.index)
        severities = [r.severity for r in rules]  # by rule index
        return {
            "cap": self.max_findings,
            "listed": len(self._details),
            "not_listed": self._not_listed,
            "seen": self._seen,
            "total": summary.total,
            "statuses": [s.value for s in _STATUSES],
            "severities": [s.value for s in _SEVERITIES],
            "rules": [
                {
                    "id": r.id,
                    "title": r.title,
                    "sev": r.severity.value,
                    "controls": r.controls,
                    "fix": r.remediation,
                    "counts": dict(rule_counts.get(r.id, {})),
                    "not_listed": r.not_listed,
                }
                for r in rules
            ],
            "resources": [self._resource_data(r, severities) for r in self._resources.values()],
            "sod": [self._sod_data(s) for s in self._sod.values()],
        }

    def _resource_data(self, r: _Resource, severities: Sequence[Severity]) -> dict[str, Any]:
        worst: Status | None = None
        for status, n in zip(_STATUSES, r.counts, strict=True):
            if n and (worst is None or _STATUS_WEIGHT[status] > _STATUS_WEIGHT[worst]):
                worst = status
        open_severities = [severities[i] for i, _s, waived in r.failing if not waived]
        worst_severity = max(open_severities, key=lambda s: s.rank) if open_severities else None
        return {
            "p": r.provider,
            "s": r.scope,
            "l": r.location,
            "u": r.uid,
            "n": r.name,
            "t": r.type,
            "kind": resource_kind(r.type),
            "w": worst.value if worst else ("waived" if r.waived else None),
            "v": worst_severity.value if worst_severity else None,
            "f": r.failing,
            "c": dict(zip((s.value for s in _STATUSES), r.counts, strict=True)),
            "x": r.waived,
        }

    def _sod_data(self, s: _Sod) -> dict[str, Any]:
        def principals(role: dict[str, _Principal]) -> list[dict[str, Any]]:
            ordered = sorted(role.values(), key=lambda p: ("conflict" not in p.flags, p.uid))
            return [
                {
                    "u": p.uid,
                    "k": p.kind,
                    "caps": sorted(p.capabilities),
                    "flags": sorted(p.flags),
                    "admin": p.admin_capabilities,
                    "use": p.use_capabilities,
                    "via": p.via,
                }
                for p in ordered
            ]

        return {
            "r": s.resource,
            "admins": principals(s.admins),
            "users": principals(s.users),
            "ac": max(s.admin_count, len(s.admins)),
            "uc": max(s.user_count, len(s.users)),
            "st": s.statuses,
            "unreadable": s.unreadable,
            "dropped": s.dropped,
        }


def _records(value: object) -> Iterable[Mapping[str, Any]]:
    if isinstance(value, list | tuple):
        return (item for item in value if isinstance(item, Mapping))
    return ()


def _strings(value: object) -> tuple[str, ...]:
    if isinstance(value, list | tuple | set | frozenset):
        return tuple(sorted(str(item) for item in value))
    return ()


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _via(sources: object) -> tuple[str, ...]:
    """Where a principal's access comes from, in short: "roles/owner (scope example-prod)"."""
    out: list[str] = []
    for source in _records(sources):
        via = str(source.get("via") or source.get("source") or "")
        where = " ".join(str(source[k]) for k in ("level", "target") if source.get(k))
        out.append(f"{via} ({where})" if where else via)
    return tuple(out[:10])


# ------------------------------------------------------------------------------------------- rendering


class _Page:
    """The server-rendered part of the report: everything here is escaped with ``esc``."""

    def __init__(self, scan: dict[str, Any], summary: Summary, writer: HtmlWriter) -> None:
        self.scan = scan
        self.summary = summary
        self.writer = writer

    def head(self, script_digest: str) -> str:
        # Defence in depth: no network load of any kind, and only our own script (by hash) may run,
        # so even a markup injection could not execute an event handler.
        csp = (
            "default-src 'none'; style-src 'unsafe-inline'; "
            f"script-src 'sha256-{script_digest}'; base-uri 'none'; form-action 'none'"
        )
        run_id = esc(self.scan.get("run_id"))
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            '<meta name="generator" content="keyaudit">\n'
            f"<title>keyaudit report {run_id}</title>\n"
            f"<style>\n{_asset('report.css')}</style>\n</head>\n"
        )

    def body(self) -> str:
        parts = [
            '<body>\n<noscript><p class="banner">JavaScript is off: the summary, coverage and charts '
            "below are complete; the key table, segregation-of-duties view and finding details need "
            "JavaScript (no network access is used).</p></noscript>\n",
            self.header(),
            self.coverage(),
            self.completeness(),
            self.summary_section(),
            self.ai_workloads(),
            _asset("views.html"),
        ]
        return "".join(parts)

    # ------------------------------------------------------------------------------------- header

    def header(self) -> str:
        scan = self.scan
        policy = scan.get("policy")
        if policy:
            policy_html = (
                f"<code>{esc(policy.get('path'))}</code><br>sha256 <code>{esc(policy.get('sha256'))}</code>"
            )
        else:
            policy_html = "<em>no policy file: built-in defaults</em>"
        inventory = scan.get("inventory") or {}
        scopes = scan.get("scopes") or []
        scope_rows = "".join(
            f"<tr><td>{esc(s.get('provider'))}</td><td>{esc(s.get('kind'))}</td>"
            f"<td><code>{esc(s.get('uid'))}</code></td><td>{esc(s.get('name'))}</td>"
            f"<td>{esc(', '.join(map(str, s.get('locations') or [])))}</td></tr>"
            for s in scopes
        )
        summary = self.summary
        verdict = summary.verdict()
        rows = [
            ("Run id", f"<code>{esc(scan.get('run_id'))}</code>"),
            ("Mode", esc(scan.get("mode"))),
            ("Started", esc(scan.get("started_at"))),
            ("Finished", esc(scan.get("finished_at"))),
            ("Evaluated as of", esc(scan.get("evaluated_as_of"))),
            ("Tool version", f"keyaudit {esc(scan.get('tool_version'))}"),
            ("Providers", esc(", ".join(scan.get("providers") or []) or "-")),
            (
                "Scopes",
                f'<details><summary>{len(scopes)} scope(s)</summary><table class="grid">'
                "<thead><tr><th>Provider</th><th>Kind</th><th>Id</th><th>Name</th><th>Locations</th>"
                f"</tr></thead><tbody>{scope_rows}</tbody></table></details>",
            ),
            ("Policy", policy_html),
            (
                "Inventory",
                esc(
                    f"{inventory.get('keys', '-')} keys, {inventory.get('key_stores', '-')} key stores, "
                    f"{inventory.get('bindings', '-')} access bindings; collected "
                    f"{inventory.get('collected_at') or '-'}"
                ),
            ),
            ("Rules", esc(scan.get("rules", len(self.writer._rules)))),
            ("Verdict", esc(verdict)),
        ]
        facts = "".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in rows)
        return (
            '<header id="report-header">\n<h1>keyaudit report</h1>\n'
            '<p class="subtitle">Cloud key management against the CEK policy: implementation '
            "validation and segregation of duties (CSA AICM CEK controls).</p>\n"
            f'<dl class="facts">{facts}</dl>\n'
            '<nav class="toc"><a href="#coverage">Coverage</a><a href="#summary">Summary</a>'
            '<a href="#controls">Controls</a><a href="#keys">Keys</a><a href="#sod">Segregation of duties</a>'
            '<a href="#ai-workloads">AI workloads</a><a href="#findings">Findings</a></nav>\n</header>\n'
        )

    def coverage(self) -> str:
        gaps = self.scan.get("coverage") or []
        if not gaps:
            return (
                '<section id="coverage" class="panel ok"><h2>Coverage: complete</h2>'
                "<p>Every scope, region and API the rules need was read.</p></section>\n"
            )
        rows = "".join(
            f"<tr><td>{esc(g.get('provider'))}</td><td><code>{esc(g.get('scope'))}</code></td>"
            f"<td>{esc(g.get('location') or '-')}</td><td><code>{esc(g.get('api'))}</code></td>"
            f'<td>{esc(g.get("error_class"))}</td><td class="msg">{esc(g.get("message"), one_line=False)}'
            f"</td><td><code>{esc(g.get('resource') or '-')}</code></td></tr>"
            for g in gaps
        )
        return (
            f'<section id="coverage" class="panel warn"><h2>Coverage gaps: {len(gaps)}</h2>'
            "<p>These scopes, regions or APIs could not be read. Findings that depend on them are "
            "<strong>unknown</strong>, not passes; the scan is incomplete until they are readable.</p>"
            '<table class="grid"><thead><tr><th>Provider</th><th>Scope</th><th>Location</th><th>API</th>'
            f"<th>Error</th><th>Message</th><th>Resource</th></tr></thead><tbody>{rows}</tbody></table>"
            "</section>\n"
        )

    def ai_workloads(self) -> str:
        """Each AI resource, the key protecting it, who can administer and use it, and the verdicts."""
        from scanner.ai_workloads import verdict_text

        ai = self.scan.get("ai_workloads")
        if not ai:
            return (
                '<section id="ai-workloads" class="panel note"><h2>AI workloads</h2>'
                "<p>No AI workload resource or AI service access to a key was found.</p></section>\n"
            )

        def people(uids: list[str] | None, count: int | None) -> str:
            listed = "".join(f"<li><code>{esc(u)}</code></li>" for u in uids or [])
            more = f"<li>... {count - len(uids or [])} more</li>" if count and count > len(uids or []) else ""
            return (
                f"<ul class='plain'>{listed}{more}</ul>"
                if listed
                else esc(count if count is not None else "?")
            )

        rows = []
        for resource in ai["resources"]:
            for key in resource["keys"] or [None]:
                if key is None:
                    key_html, admins, users = (
                        f"<em>{esc(resource['encryption'] or 'not read')}</em>",
                        "-",
                        "-",
                    )
                    verdicts = dict(resource["verdicts"])
                else:
                    detail = ", ".join(v for v in (key.get("protection"), key.get("origin")) if v)
                    key_html = f"<code>{esc(key['uid'])}</code><br>{esc(detail)}"
                    admins = people(key.get("administrators"), key.get("administrator_count"))
                    users = people(key.get("users"), key.get("user_count"))
                    verdicts = {**resource["verdicts"], **key["verdicts"]}
                text = verdict_text(verdicts)
                state = "fail" if "fail" in text else "unknown" if "unknown" in text else "pass"
                rows.append(
                    f"<tr><td>{esc(resource['provider'])}</td><td><code>{esc(resource['uid'])}</code><br>"
                    f"{esc(resource['type'])}</td><td>{esc(resource['ai_service'])}</td><td>{key_html}</td>"
                    f'<td>{admins}</td><td>{users}</td><td class="status-{state}">{esc(text)}</td></tr>'
                )
        for key in ai["keys_used_by_ai_services_only"]:
            rows.append(
                f"<tr><td>-</td><td><em>AI service access only:</em> {esc(', '.join(key.get('ai_principals') or []))}"
                f"</td><td>{esc(', '.join(key.get('ai_services') or []))}</td><td><code>{esc(key['uid'])}</code></td>"
                f"<td>{people(key.get('administrators'), key.get('administrator_count'))}</td>"
                f"<td>{people(key.get('users'), key.get('user_count'))}</td><td>{esc(verdict_text(key['verdicts']))}</td></tr>"
            )
        return (
            f'<section id="ai-workloads" class="panel"><h2>AI workloads: {ai["resource_count"]} resource(s), '
            f"{ai['key_count']} key(s)</h2><p>AI resources (SageMaker, Bedrock, Vertex AI, Azure OpenAI / AI "
            "services, Azure Machine Learning), the key protecting each, who can administer and use that key, and "
            "the verdicts of the AI rules (cmk: customer-managed key; policy: HSM and rotation; ai-not-admin: the AI "
            "service cannot administer the key; dedicated: one tenant's AI only; origin: BYOK/HYOK).</p>"
            '<table class="grid"><thead><tr><th>Provider</th><th>AI resource</th><th>Service</th><th>Key</th>'
            "<th>Administrators</th><th>Users</th><th>Verdicts</th></tr></thead><tbody>"
            f"{''.join(rows)}</tbody></table></section>\n"
        )

    def completeness(self) -> str:
        writer = self.writer
        notes = [
            f"Detailed findings: all failing, unknown and error findings up to a cap of "
            f"{writer.max_findings:,} are listed with message and evidence ({len(writer._details):,} "
            "listed); passing findings are counted, and their keys appear in the key table and the "
            "segregation-of-duties view."
        ]
        if writer._not_listed:
            notes.append(
                f"<strong>{writer._not_listed:,} failing finding(s) beyond the cap are counted but not "
                "listed</strong>: see the JSON result (--format json) for every finding."
            )
        if writer._seen < self.summary.total:
            notes.append(
                f"{self.summary.total - writer._seen:,} passing finding(s) were left out of this run "
                "(--only-failed): counts include them, the key table and segregation-of-duties view do not."
            )
        items = "".join(f"<li>{note}</li>" for note in notes)
        return f'<section id="completeness" class="panel note"><ul>{items}</ul></section>\n'

    # ------------------------------------------------------------------------------------ summary

    def summary_section(self) -> str:
        summary = self.summary
        by_status = summary.by_status
        waived = sum(n for key, n in summary.counts.items() if key[4])
        cards = "".join(
            f'<div class="card status-{s.value}"><span class="n">{by_status.get(s, 0):,}</span>'
            f"<span>{s.value}</span></div>"
            for s in _STATUSES
        )
        cards = (
            f'<div class="card"><span class="n">{summary.total:,}</span><span>findings</span></div>'
            f'{cards}<div class="card waived"><span class="n">{waived:,}</span><span>waived</span></div>'
        )
        by_severity = summary.by_severity_status
        severity_rows = [
            (
                f'<span class="sev sev-{s.value}">{s.value}</span>',
                [by_severity.get((s, st), 0) for st in _STATUSES],
            )
            for s in _SEVERITIES
        ]
        by_provider = summary.by_provider_status
        providers = sorted({p for p, _ in by_provider})
        provider_rows = [(esc(p), [by_provider.get((p, st), 0) for st in _STATUSES]) for p in providers]
        return (
            '<section id="summary"><h2>Summary</h2>\n'
            f'<div class="cards">{cards}</div>\n<div class="two">'
            f"<div><h3>By severity</h3>{_status_table('Severity', severity_rows)}</div>"
            f"<div><h3>By provider</h3>{_status_table('Provider', provider_rows)}</div></div>\n"
            '<div class="two"><figure id="chart-severity-provider" class="chart">'
            "<figcaption>Open failing findings (fail, unknown, error; waived excluded) by provider "
            f"and severity</figcaption>{self.severity_chart(providers)}</figure></div>\n"
            f"{self.controls()}</section>\n"
        )

    def severity_chart(self, providers: Sequence[str]) -> str:
        stacks: dict[str, Counter[Severity]] = {p: Counter() for p in providers}
        for (_rule, provider, severity, status, waived), n in self.summary.counts.items():
            if status.is_failing and not waived:
                stacks[provider][severity] += n
        return svg_stacked_bars(stacks)

    def controls(self) -> str:
        controls = self.writer.control_counts(self.summary)
        frameworks: dict[str, list[str]] = {}
        for control in controls:
            frameworks.setdefault(control.partition(":")[0], []).append(control)
        order = sorted(frameworks, key=lambda f: (f != "CSA-AICM", f.lower()))
        blocks = []
        for framework in order:
            names = sorted(frameworks[framework], key=_natural)
            rows = []
            bars = []
            for name in names:
                counts, rules = controls[name]
                total = sum(counts[s.value] for s in _STATUSES)
                rate = counts[Status.PASS.value] / total if total else 0.0
                bars.append((name.partition(":")[2], rate, counts[Status.PASS.value], total))
                cells = "".join(f'<td class="num">{counts[s.value]:,}</td>' for s in _STATUSES)
                rows.append(
                    f'<tr><td class="nowrap" title="{esc(name)}"><code>{esc(name.partition(":")[2])}</code></td>{cells}'
                    f'<td class="num">{rate:.0%}</td><td class="rules">{esc(", ".join(sorted(rules)))}</td></tr>'
                )
            head = "".join(f"<th>{s.value}</th>" for s in _STATUSES)
            open_attr = " open" if framework == "CSA-AICM" else ""
            slug = re.sub(r"[^a-z0-9]+", "-", framework.lower()).strip("-")
            blocks.append(
                f'<details class="framework"{open_attr} data-framework="{esc(framework)}">'
                f"<summary>{esc(framework)}: {len(names)} control(s)</summary>"
                f'<div class="two"><figure class="chart" id="chart-control-pass-{esc(slug)}">'
                f"<figcaption>Pass rate per control ({esc(framework)})</figcaption>{svg_pass_rate(bars)}"
                '</figure><div><table class="grid"><thead><tr><th>Control</th>'
                f"{head}<th>pass rate</th><th>Rules</th></tr></thead><tbody>{''.join(rows)}</tbody>"
                "</table></div></div></details>"
            )
        return (
            '<div id="controls"><h3>By control</h3><p class="hint">Each finding counts once for every '
            "control its rule maps to. Pass rate = passing findings / all findings of those rules "
            "(unknown and error are not passes).</p>"
            f"{''.join(blocks) or '<p>No control mappings.</p>'}</div>\n"
        )


def _status_table(label: str, rows: Sequence[tuple[str, Sequence[int]]]) -> str:
    head = "".join(f"<th>{s.value}</th>" for s in _STATUSES)
    body = []
    for name, counts in rows:
        if any(counts):
            cells = "".join(f'<td class="num">{n:,}</td>' for n in (*counts, sum(counts)))
            body.append(f"<tr><td>{name}</td>{cells}</tr>")
    return (
        f'<table class="grid"><thead><tr><th>{esc(label)}</th>{head}<th>total</th></tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


# ---------------------------------------------------------------------------------------------- charts


def svg_stacked_bars(stacks: Mapping[str, Counter[Severity]]) -> str:
    """Vertical stacked bars: one per provider, one segment per severity."""
    width, height, left, bottom, top = 520, 260, 44, 40, 16
    plot_h = height - bottom - top
    names = list(stacks)
    peak = max((sum(c.values()) for c in stacks.values()), default=0)
    if not names or peak == 0:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} 60" role="img" '
            'aria-label="no open failing findings"><text x="10" y="35">No open failing findings.</text></svg>'
        )
    slot = (width - left - 10) / len(names)
    bar = min(70.0, slot * 0.6)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height + 24}" role="img" '
        'aria-label="open failing findings by provider and severity">'
    ]
    for tick in _ticks(peak):
        y = top + plot_h - plot_h * tick / peak
        parts.append(
            f'<line x1="{left}" x2="{width - 6}" y1="{y:.1f}" y2="{y:.1f}" class="gridline"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="axis">{tick}</text>'
        )
    for i, name in enumerate(names):
        x = left + slot * i + (slot - bar) / 2
        y = float(top + plot_h)
        for severity in reversed(_SEVERITIES):  # least severe at the bottom
            n = stacks[name][severity]
            if not n:
                continue
            h = plot_h * n / peak
            y -= h
            parts.append(
                f'<rect class="seg" data-provider="{esc(name)}" data-severity="{severity.value}" '
                f'x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{_SEVERITY_COLOUR[severity]}"><title>{esc(name)}: {n} {severity.value}</title></rect>'
            )
        total = sum(stacks[name].values())
        parts.append(
            f'<text x="{x + bar / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle" class="total">{total}</text>'
            f'<text x="{x + bar / 2:.1f}" y="{top + plot_h + 18}" text-anchor="middle">{esc(name)}</text>'
        )
    lx = left
    for severity in _SEVERITIES:
        parts.append(
            f'<rect x="{lx}" y="{height + 6}" width="12" height="12" fill="{_SEVERITY_COLOUR[severity]}"/>'
            f'<text x="{lx + 16}" y="{height + 16}" class="legend">{severity.value}</text>'
        )
        lx += 90
    parts.append("</svg>")
    return "".join(parts)


def svg_pass_rate(bars: Sequence[tuple[str, float, int, int]]) -> str:
    """Horizontal bars, one per control: the share of its findings that pass."""
    row, label_w, bar_w = 22, 150, 300
    height = row * len(bars) + 8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {label_w + bar_w + 130} {height}" '
        'role="img" aria-label="pass rate per control">'
    ]
    for i, (name, rate, passed, total) in enumerate(bars):
        y = 4 + i * row
        colour = "#16a34a" if rate >= 0.9 else "#f59e0b" if rate >= 0.5 else "#dc2626"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{esc(name)}</text>'
            f'<rect x="{label_w}" y="{y + 2}" width="{bar_w}" height="16" class="track"/>'
            f'<rect class="rate" data-control="{esc(name)}" x="{label_w}" y="{y + 2}" '
            f'width="{bar_w * rate:.1f}" height="16" fill="{colour}">'
            f"<title>{esc(name)}: {passed} of {total} pass</title></rect>"
            f'<text x="{label_w + bar_w + 6}" y="{y + 14}" class="axis">{rate:.0%} ({passed}/{total})</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _ticks(peak: int) -> list[int]:
    """At most six round gridline values (steps of 1, 2 or 5 times a power of ten)."""
    step = next(m * 10**e for e in range(19) for m in (1, 2, 5) if peak / (m * 10**e) <= 5)
    return list(range(0, peak + 1, step))
