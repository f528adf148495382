"""Readable report for people at a terminal: failing findings first, then the summary and coverage gaps."""

from __future__ import annotations

import io
import re
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from scanner.findings import Finding, Summary
from scanner.output.base import FindingWriter
from scanner.rule import Severity, Status

ROWS_PER_SEVERITY = 100
_SEVERITY_STYLE = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
}
_STATUS_STYLE = {"fail": "red", "unknown": "magenta", "error": "bold magenta", "pass": "green"}
# What a name or message from the cloud must not carry to a terminal: control characters (ANSI colour
# and title escapes, NUL, line breaks that forge report lines), Unicode line separators, zero-width and
# bidirectional-override characters (which hide or reorder text) and lone surrogates (unprintable).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]")


def visible(text: str) -> str:
    """``text`` with those characters written as ``\\xNN`` / ``\\uNNNN`` escapes."""
    return _UNSAFE.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text)


class TableWriter(FindingWriter):
    format = "table"
    extension = "txt"
    description = "human-readable tables (the default at a terminal)"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shown: dict[Severity, list[Finding]] = {s: [] for s in Severity}
        self._hidden = 0

    def write(self, finding: Finding) -> None:
        if not finding.status.is_failing:
            return
        bucket = self._shown[finding.severity]
        if len(bucket) < ROWS_PER_SEVERITY:
            bucket.append(finding)
        else:
            self._hidden += 1

    def close(self, scan: dict[str, Any], summary: Summary) -> None:
        text = io.TextIOWrapper(self.stream, encoding="utf-8", write_through=True)
        console = Console(
            file=text,
            force_terminal=self.color,
            no_color=not self.color,
            width=160 if not self.color else None,
        )
        self._render(console, scan, summary)
        text.flush()
        text.detach()

    def _render(self, console: Console, scan: dict[str, Any], summary: Summary) -> None:
        policy = scan.get("policy")
        console.print(
            f"[bold]keyaudit[/bold] {scan.get('tool_version')}  run {scan.get('run_id')}  "
            f"providers: {', '.join(scan.get('providers') or []) or '-'}  scopes: {len(scan.get('scopes') or [])}  "
            f"policy: {escape(visible(policy['path'])) if policy else 'built-in defaults'}"
        )
        failing = [f for severity in Severity for f in self._shown[severity]]
        if failing:
            # One heading line per finding and its message indented below: readable at any width,
            # where a six-column table squeezes the message into a sliver.
            console.rule("Findings needing attention")
            for f in failing:
                line = Text()
                line.append(f"{f.severity.value.upper():8}", style=_SEVERITY_STYLE[f.severity.value])
                line.append(f" {f.status.value:7}", style=_STATUS_STYLE[f.status.value])
                if f.change in ("new", "reappeared"):  # with a state store: what changed since last run
                    line.append(f" {f.change.upper()}", style="bold reverse")
                line.append(f" {f.rule_id}", style="bold")
                where = f.scope + (f"/{f.location}" if f.location else "")
                line.append(visible(f"  {f.provider}:{where}  {f.resource.name or f.resource.uid}"))
                console.print(line, overflow="fold")
                console.print(Text("    " + visible(f.message)), overflow="fold")
            if self._hidden:
                console.print(
                    f"... and {self._hidden} more failing findings: see --format json for all of them."
                )
        else:
            console.print("[green]No failing findings.[/green]")
        console.print(_summary_table(summary))
        ai = scan.get("ai_workloads")
        if ai:
            console.print(_ai_table(ai))
        coverage = scan.get("coverage") or []
        if coverage:
            console.print(f"[magenta]Coverage gaps ({len(coverage)}):[/magenta]")
            for gap in coverage[:20]:
                console.print(  # Text: no markup, no ":emoji:" codes read from an error message
                    Text(
                        visible(
                            f"  {gap['provider']}:{gap['scope']} {gap.get('location') or ''} {gap['api']}: "
                            f"{gap['error_class']}: {gap['message']}"
                        )
                    )
                )
        state = scan.get("state")
        if state:
            changes = state.get("changes") or {}
            since = f"run {state['previous_run'][:8]}" if state.get("previous_run") else "nothing (first run)"
            console.print(
                f"Since {since} in {state.get('store')}: "
                + ", ".join(
                    f"{changes.get(name, 0)} {name.replace('_', ' ')}"
                    for name in ("new", "reappeared", "resolved", "still_open")
                )
                + ("  (--only-new: only new and reappeared findings shown)" if state.get("only_new") else ""),
                markup=False,
            )
        verdict = summary.verdict()
        console.print(f"[bold]{verdict}[/bold]")


def _summary_table(summary: Summary) -> Table:
    table = Table(title="Summary by severity")
    table.add_column("Severity")
    for status in Status:
        table.add_column(status.value, justify="right", style=_STATUS_STYLE[status.value])
    by_severity = summary.by_severity_status
    for severity in Severity:
        counts = [by_severity.get((severity, status), 0) for status in Status]
        if any(counts):
            table.add_row(Text(severity.value, style=_SEVERITY_STYLE[severity.value]), *map(str, counts))
    by_status = summary.by_status
    table.add_row("total", *(str(by_status.get(status, 0)) for status in Status), style="bold")
    return table


def _ai_table(ai: dict[str, Any]) -> Table:
    """Each AI resource, its key, who administers and uses the key, and the AI rules' verdicts."""
    from scanner.ai_workloads import verdict_text

    shown = ai["resources_listed"]
    more = f" (first {shown} of {ai['resource_count']})" if shown < ai["resource_count"] else ""
    table = Table(title=f"AI workloads: {ai['resource_count']} resource(s), {ai['key_count']} key(s){more}")
    for column in ("AI resource", "Service", "Key", "Admins", "Users", "Verdicts"):
        table.add_column(column, overflow="fold")
    for resource in ai["resources"]:
        name = Text(visible(f"{resource['provider']}:{resource['name'] or resource['uid']}"))
        keys = resource["keys"] or [None]
        for key in keys:
            if key is None:
                key_cell, admins, users = Text(resource["encryption"] or "not read", style="red"), "-", "-"
                verdicts = dict(resource["verdicts"])
            else:
                detail = ", ".join(v for v in (key.get("protection"), key.get("origin")) if v)
                key_cell = Text(
                    visible(f"{key.get('name') or key['uid']}" + (f" ({detail})" if detail else ""))
                )
                admins = _who(key.get("administrators"), key.get("administrator_count"))
                users = _who(key.get("users"), key.get("user_count"))
                verdicts = {**resource["verdicts"], **key["verdicts"]}
            text = verdict_text(verdicts)
            style = "red" if "fail" in text else "magenta" if "unknown" in text else "green"
            table.add_row(
                name, resource["ai_service"] or "-", key_cell, admins, users, Text(text, style=style)
            )
    for key in ai["keys_used_by_ai_services_only"]:
        table.add_row(  # cloud-supplied names go in as Text: never read as rich markup
            Text(visible(", ".join(key.get("ai_principals") or []) or "-")),
            Text(visible(", ".join(key.get("ai_services") or []))),
            Text(visible(key.get("name") or key["uid"])),
            Text(visible(_who(key.get("administrators"), key.get("administrator_count")))),
            Text(visible(_who(key.get("users"), key.get("user_count")))),
            Text(verdict_text(key["verdicts"])),
        )
    return table


def _who(uids: list[str] | None, count: int | None) -> str:
    """'N: first, second, ...' with short names (the last path segment of an ARN or member)."""
    if count is None:
        return "?"
    names = [uid.rsplit("/", 1)[-1].rsplit(":", 1)[-1] for uid in (uids or [])[:2]]
    more = ", ..." if count > len(names) else ""
    return f"{count}: {', '.join(names)}{more}" if names else str(count)
