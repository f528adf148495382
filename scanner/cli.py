"""The ``keyaudit`` command line (SPEC 2-4). Cloud SDKs are never imported here: providers load lazily."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from scanner import __version__
from scanner.engine import RuleCatalogError
from scanner.errors import InputError, KeyauditError

F = TypeVar("F", bound=Callable[..., Any])

FAIL_ON_CHOICES = ("critical", "high", "medium", "low", "info", "none")
FORMAT_HELP = (
    "Output format, repeatable: json, table, csv, html, caiq (CSA AI-CAIQ answer sheet, JSON), caiq-md "
    "(the same in Markdown), ocsf (OCSF 1.8.0 NDJSON), asff (AWS Security Finding Format), cef, leef, "
    "ecs (Elastic Common Schema NDJSON), sarif. Default: table at a terminal, json otherwise."
)


TO_HELP = (
    "Also deliver the findings to this SIEM destination, repeatable: syslog+tcp://HOST:PORT, "
    "syslog+tls://HOST:PORT[?ca=PATH], syslog+udp://HOST:PORT (add ?format=cef for CEF instead of OCSF "
    "JSON), splunk-hec://HOST:PORT[?index=..&sourcetype=..&ack=true&tls=false] (token from "
    "KEYAUDIT_SPLUNK_HEC_TOKEN). Events are spooled first; a destination that is down keeps them for "
    "`keyaudit send --spool` and does not change the exit code."
)


def _spool_dir_option() -> Callable[[F], F]:
    return click.option(
        "--spool-dir",
        type=click.Path(path_type=Path, file_okay=False),
        envvar="KEYAUDIT_SPOOL_DIR",
        help="Where undelivered events wait (env KEYAUDIT_SPOOL_DIR; default: the user data dir).",
    )


def _log_options(func: F) -> F:
    func = click.option("-q", "--quiet", is_flag=True, help="Warnings and errors only; no progress display.")(
        func
    )
    func = click.option("-v", "--verbose", is_flag=True, help="Debug logging.")(func)
    func = click.option(
        "--log-format",
        type=click.Choice(["json", "console"]),
        default=None,
        help="Logs on stderr: json (default when stderr is not a terminal) or console.",
    )(func)
    return func


def _result_options(*, fail_on_default: str = "high") -> Callable[[F], F]:
    def decorate(func: F) -> F:
        options = [
            click.option(
                "--policy",
                "policy_path",
                type=click.Path(path_type=Path, dir_okay=False),
                help="CEK policy file (YAML). Without it built-in defaults apply and cek_policy_present fails.",
            ),
            click.option(
                "--waivers",
                "waivers_path",
                type=click.Path(path_type=Path, dir_okay=False),
                help="Waiver file (YAML): accepted risks, each with selector, reason, owner, ticket and expiry. "
                "Waived findings stay in the output, marked, and do not count for --fail-on.",
            ),
            click.option("--format", "formats", multiple=True, metavar="FMT", help=FORMAT_HELP),
            click.option(
                "-o",
                "--output",
                type=click.Path(path_type=Path),
                help="Write to this file (or directory, with several formats) instead of stdout; atomically.",
            ),
            click.option(
                "--fail-on",
                type=click.Choice(FAIL_ON_CHOICES),
                default=fail_on_default,
                show_default=True,
                help="Exit 3 when a failing, unknown or error finding has at least this severity; none never fails.",
            ),
            click.option("--only-failed", is_flag=True, help="Leave passing findings out of the outputs."),
            click.option(
                "--evidence",
                "evidence_dir",
                type=click.Path(path_type=Path, file_okay=False),
                help="Also write an evidence bundle to this new directory: inventory, JSON and OCSF results, "
                "policy, CAIQ answer sheet, HTML report, manifest with sha256 of every file.",
            ),
            click.option("--to", "to", multiple=True, metavar="URL", help=TO_HELP),
            _spool_dir_option(),
            click.option(
                "--state",
                "state",
                metavar="DB",
                envvar="KEYAUDIT_STATE",
                help="Run history for change labels (new, still_open, resolved, reappeared), `keyaudit history` "
                "and `keyaudit diff`: a SQLite file or postgresql://USER@HOST/DB (password from PGPASSWORD or "
                "~/.pgpass, or in the URL). Env KEYAUDIT_STATE. `scan` records into "
                "<user data dir>/state.db by default; evaluate and demo only when given.",
            ),
            click.option("--no-state", is_flag=True, help="Record nothing and label nothing."),
            click.option(
                "--only-new",
                is_flag=True,
                help="Report only findings that are new or reappeared since the last run (needs a state store); "
                "the exit code then counts only them: for alerting.",
            ),
            click.option(
                "--wait",
                is_flag=True,
                help="When another run holds the state store, wait for it instead of exiting 1 at once.",
            ),
            click.option(
                "--wait-timeout",
                type=click.FloatRange(min=0),
                metavar="SECONDS",
                help="With --wait: give up (exit 1) after this long (default: wait as long as it takes).",
            ),
            click.option(
                "--metrics-file",
                type=click.Path(path_type=Path, dir_okay=False),
                help="Write Prometheus metrics (text format, atomically) here, e.g. for node exporter's textfile "
                "collector: findings by provider, severity and status, changes, collection errors, duration, "
                "last successful run. Written for failed runs too.",
            ),
        ]
        for option in reversed(options):
            func = option(func)
        return _log_options(func)

    return decorate


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="keyaudit")
def cli() -> None:
    """keyaudit: prove (or disprove) that your key-management policy is implemented in AWS, GCP and Azure.

    \b
    Exit codes:
      0  complete scan, no failing finding at or above --fail-on
      1  runtime error: the scan could not run
      2  usage error or bad input (flags, policy, waiver or inventory file)
      3  failing findings at or above --fail-on (coverage gaps are findings too)
    """


# ----------------------------------------------------------------------------------------------- evaluate
@cli.command()
@click.argument("inventory", type=click.Path(path_type=Path, dir_okay=False))
@_result_options()
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%SZ"]),
    help="Judge dates (reviews, rotation, expiry) as of this UTC date instead of now.",
)
def evaluate(inventory: Path, as_of: datetime | None, **options: Any) -> None:
    """Run the rules on a saved INVENTORY.json: no cloud access."""
    from scanner.inventory import InventoryLoadError, load_inventory

    def load() -> Any:
        try:
            return load_inventory(inventory)
        except InventoryLoadError as exc:
            raise InputError(str(exc)) from exc

    from scanner.yamlfile import display_path

    moment = as_of.replace(tzinfo=UTC) if as_of is not None else None
    _run(load, mode="evaluate", as_of=moment, extra={"inventory_file": display_path(inventory)}, **options)


# ----------------------------------------------------------------------------------------------- scan
@cli.command()
@click.argument("providers", nargs=-1, required=True, type=click.Choice(["aws", "gcp", "azure"]))
@click.option("--profile", help="AWS: named profile.")
@click.option(
    "--region", "regions", multiple=True, help="AWS: region to scan, repeatable (default: all enabled)."
)
@click.option("--org-role", help="AWS: scan every account of the Organization by assuming this role.")
@click.option("--account", "accounts", multiple=True, help="AWS: only these account ids, repeatable.")
@click.option("--project", "projects", multiple=True, help="GCP: project id, repeatable.")
@click.option("--organization", help="GCP: every project under this organization id.")
@click.option("--folder", help="GCP: every project under this folder id.")
@click.option(
    "--gcp-endpoint", envvar="KEYAUDIT_GCP_ENDPOINT", help="GCP: base URL for every Google API (PSC, replay)."
)
@click.option("--subscription", "subscriptions", multiple=True, help="Azure: subscription id, repeatable.")
@click.option("--management-group", help="Azure: every subscription under this management group.")
@click.option(
    "--azure-cloud", type=click.Choice(["public", "china", "usgov"]), default="public", show_default=True
)
@click.option("--concurrency", type=click.IntRange(1, 256), default=8, show_default=True)
@click.option(
    "--shard",
    metavar="I/N",
    envvar="KEYAUDIT_SHARD",
    callback=lambda _ctx, _param, value: _parse_shard(value),
    help="Scan only shard I of N (I from 0 to N-1, as Kubernetes' JOB_COMPLETION_INDEX): accounts, projects and "
    "subscriptions are split deterministically by id. Combine the shards' JSON results with `keyaudit merge`.",
)
@click.option(
    "--save-inventory", type=click.Path(path_type=Path, dir_okay=False), help="Also write the inventory JSON."
)
@click.option(
    "--print-required-policy",
    is_flag=True,
    help="Print the read-only permissions the scan needs (for AWS: an IAM policy) and exit.",
)
@_result_options()
def scan(
    providers: Sequence[str],
    concurrency: int,
    save_inventory: Path | None,
    print_required_policy: bool,
    **options: Any,
) -> None:
    """Scan PROVIDER(s) (aws, gcp, azure) read-only with the SDKs' standard credentials, then judge."""
    from scanner.progress import progress_display
    from scanner.provider import CollectRequest, load_provider, merge_inventories

    result_keys = {
        "policy_path",
        "waivers_path",
        "formats",
        "output",
        "fail_on",
        "only_failed",
        "quiet",
        "verbose",
        "log_format",
        "evidence_dir",
        "to",
        "spool_dir",
        "state",
        "no_state",
        "only_new",
        "wait",
        "wait_timeout",
        "metrics_file",
    }
    provider_options = {k: v for k, v in options.items() if k not in result_keys}
    result_options = {k: v for k, v in options.items() if k in result_keys}
    plugins = [load_provider(name) for name in dict.fromkeys(providers)]
    if print_required_policy:
        for plugin in plugins:
            click.echo(plugin.required_policy())
        return

    def collect() -> Any:
        from scanner.inventory import CollectionInfo, Provider

        started = datetime.now(UTC)
        with progress_display(enabled=not result_options["quiet"]) as progress:
            request = CollectRequest(options=provider_options, concurrency=concurrency, progress=progress)
            parts = [plugin.collect(request) for plugin in plugins]
        info = CollectionInfo(
            tool_version=__version__,
            started_at=started,
            finished_at=datetime.now(UTC),
            providers=tuple(Provider(p.name) for p in plugins),
        )
        merged = merge_inventories(parts, info)
        if save_inventory is not None:
            _save_inventory(merged, save_inventory)
        return merged

    shard = provider_options.get("shard")
    extra = {"shard": shard.to_dict()} if shard is not None else {}
    _run(collect, mode="scan", as_of=None, extra=extra, state_by_default=True, **result_options)


def _parse_shard(value: str | None) -> Any:
    if not value:
        return None
    from scanner.shard import Shard

    return Shard.parse(value)


def _save_inventory(inventory: Any, path: Path) -> None:
    from scanner.output import AtomicFile

    target = AtomicFile(path)
    try:
        target.stream.write(inventory.model_dump_json(indent=1).encode("utf-8"))
    except BaseException:
        target.abort()
        raise
    target.commit()


# ----------------------------------------------------------------------------------------------- demo
@cli.command()
@_result_options(fail_on_default="none")
def demo(**options: Any) -> None:
    """Judge a simulated multi-cloud estate: no credentials, no network. Exits 0 unless --fail-on is given.

    AWS is an Organization simulated in-process (moto) and scanned through the real AWS provider;
    providers whose simulator is not built yet contribute their part of the bundled sample inventory.
    The bundled sample policy applies unless --policy is given.
    """
    from importlib.resources import as_file, files

    from scanner.demo import simulated_estate
    from scanner.progress import progress_display

    def build() -> Any:
        with progress_display(enabled=not options["quiet"]) as progress:
            inventory, origins = simulated_estate(progress)
        if not options["quiet"]:
            for name, origin in origins.items():
                click.echo(f"keyaudit demo: {name}: {origin}", err=True)
        return inventory

    with as_file(files("scanner") / "data" / "sample-policy.yaml") as policy:
        if options.get("policy_path") is None:
            options["policy_path"] = policy
        _run(build, mode="demo", as_of=None, extra={}, **options)


# ----------------------------------------------------------------------------------------------- send
@cli.command()
@click.argument("result", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--to", "to", multiple=True, metavar="URL", help="Destination URL, repeatable (see scan --help)."
)
@click.option(
    "--spool",
    "from_spool",
    is_flag=True,
    help="Send what earlier runs left in the spool: for every spooled destination, or only the --to ones.",
)
@_spool_dir_option()
@_log_options
def send(
    *,
    result: Path | None,
    to: Sequence[str],
    from_spool: bool,
    spool_dir: Path | None,
    quiet: bool,
    verbose: bool,
    log_format: str | None,
) -> None:
    """Deliver a saved RESULT.json (from --format json) to --to destinations, and/or resend the spool.

    Exits 0 when everything was delivered, 1 when events remain spooled (a destination is down or
    refused them), 2 on bad input. Delivery is at least once: receivers drop duplicates by finding id.
    """
    from scanner.delivery.deliver import send_command
    from scanner.logs import configure_logging
    from scanner.run import new_run_id

    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    configure_logging(
        run_id=new_run_id(), fmt=log_format or ("console" if sys.stderr.isatty() else "json"), level=level
    )
    if result is None and not from_spool:
        raise InputError("send: give a RESULT.json to deliver with --to URL, or --spool to resend the spool")
    if result is not None and not to:
        raise InputError(f"send {result}: say where with --to URL")
    send_command(result, to, from_spool=from_spool, spool_dir=spool_dir)


# ----------------------------------------------------------------------------------------------- history
def _state_read_options(func: F) -> F:
    func = click.option(
        "--format",
        "fmt",
        type=click.Choice(["table", "json"]),
        default=None,
        help="table (default at a terminal) or json (default otherwise).",
    )(func)
    return click.option(
        "--state",
        "state",
        metavar="DB",
        envvar="KEYAUDIT_STATE",
        help="The state store (SQLite file or postgresql://...); env KEYAUDIT_STATE; default "
        "<user data dir>/state.db, where `keyaudit scan` records.",
    )(func)


def _open_for_reading(state: str | None) -> Any:
    from scanner.state.store import StateStore, StateTarget, default_state_path

    target = StateTarget.parse(state) if state else StateTarget.parse(default_state_path())
    if target.sqlite_path is not None and not target.sqlite_path.exists():
        raise InputError(f"--state {target.display}: no such state store (no run has recorded there yet)")
    store = StateStore.open(target)
    store.check_schema(migrate=False)
    return store


def _emit(fmt: str | None, payload: Any, renderables: Callable[[], list[Any]]) -> None:
    if (fmt or ("table" if sys.stdout.isatty() else "json")) == "json":
        import orjson

        sys.stdout.buffer.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2) + b"\n")
        return
    from rich.console import Console

    console = Console()
    for part in renderables():
        console.print(part)


@cli.command("history")
@_state_read_options
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="Newest runs shown.")
def history_command(state: str | None, fmt: str | None, limit: int) -> None:
    """List the runs recorded in the state store, newest first: when, what, exit code, changes."""
    from scanner.state.report import history, render_history

    store = _open_for_reading(state)
    try:
        runs = history(store, limit)
        _emit(fmt, runs, lambda: [render_history(runs, store=store.target.display)])
    finally:
        store.close()


@cli.command("diff")
@_state_read_options
@click.option(
    "--since",
    metavar="RUN",
    help="Compare with this run: a run id (or unique prefix) or a date/time (the last run started by then). "
    "Default: the completed run before --run.",
)
@click.option("--run", "until", metavar="RUN", help="The later run (default: the latest completed run).")
def diff_command(state: str | None, fmt: str | None, since: str | None, until: str | None) -> None:
    """What changed between two recorded runs: findings new, reappeared, resolved and still open."""
    from scanner.state.report import diff, render_diff

    store = _open_for_reading(state)
    try:
        result = diff(store, since, until)
        _emit(fmt, result.to_dict(), lambda: render_diff(result))
    finally:
        store.close()


# ----------------------------------------------------------------------------------------------- merge
@cli.command()
@click.argument("results", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--format", "formats", multiple=True, metavar="FMT", help=FORMAT_HELP)
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="File, or directory for several formats."
)
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON_CHOICES),
    default="high",
    show_default=True,
    help="Exit 3 when a merged failing finding has at least this severity (a missing shard counts).",
)
@click.option("--only-failed", is_flag=True, help="Leave passing findings out of the outputs.")
@_log_options
def merge(
    *,
    results: Sequence[Path],
    formats: Sequence[str],
    output: Path | None,
    fail_on: str,
    only_failed: bool,
    quiet: bool,
    verbose: bool,
    log_format: str | None,
) -> None:
    """Combine the JSON results of `scan --shard I/N` jobs (and their coverage) into one report.

    A shard whose result is missing becomes a coverage gap and a failing scan_coverage_complete
    finding; findings reported by two shards are kept once (a failure wins over a pass).
    """
    from scanner.findings import Summary
    from scanner.logs import configure_logging, get_logger
    from scanner.merge import merge_results
    from scanner.output import open_writers, plan_outputs
    from scanner.results import load_result
    from scanner.rule import Severity
    from scanner.run import exit_code, new_run_id

    run_id = new_run_id()
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    configure_logging(
        run_id=run_id, fmt=log_format or ("console" if sys.stderr.isatty() else "json"), level=level
    )
    targets = plan_outputs(formats, output, stdout_is_tty=sys.stdout.isatty())
    loaded = [(path, *load_result(path)) for path in dict.fromkeys(results)]
    scan, findings = merge_results(loaded)
    scan["run_id"] = run_id
    summary = Summary(fail_on=None if fail_on == "none" else Severity(fail_on))
    with open_writers(targets, color=sys.stdout.isatty()) as writers:
        for finding in findings:
            summary.add(finding)
            if only_failed and not finding.status.is_failing:
                continue
            for writer in writers:
                writer.write(finding)
        scan["summary"] = summary.to_dict()
        for writer in writers:
            writer.close(scan, summary)
    code = exit_code(summary)
    get_logger().info("merge.finish", results=len(loaded), findings=summary.total, exit_code=code)
    sys.exit(code)


# ----------------------------------------------------------------------------------------------- rules
@cli.group()
def rules() -> None:
    """The rule catalogue."""


@rules.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--provider", help="Only rules covering this provider (aws, gcp, azure, policy).")
@click.option(
    "--control",
    help="Only rules mapped to this control: a control id (CEK-02), FRAMEWORK:CONTROL (CIS-GCP-5.0:1.12) "
    "or a framework (AWS-SecurityHub, CIS-GCP). Case-insensitive.",
)
def rules_list(fmt: str, provider: str | None, control: str | None) -> None:
    """List every rule with its metadata."""
    from scanner.catalogue import CEK_TITLES, close_controls, select_rules
    from scanner.engine import discover_rules

    catalogue = [r.meta for r in discover_rules()]
    selected = select_rules(catalogue, provider=provider, control=control)
    if not selected and (provider is not None or control is not None):
        # An empty selection is an answer, not an error: say why on stderr, keep stdout parseable.
        wanted = " and ".join(
            f"{name} '{value}'" for name, value in (("provider", provider), ("control", control)) if value
        )
        hint = ""
        if control is not None and not select_rules(catalogue, control=control):
            cek = control.strip().upper().removeprefix("CSA-AICM:")
            close = close_controls(control, catalogue)
            if cek in CEK_TITLES:
                hint = f"; {cek} ({CEK_TITLES[cek]}) is a CSA AICM control no rule checks"
            elif close:
                hint = f"; did you mean {', '.join(close)}?"
            else:
                hint = "; see docs/rules.md for the mappings"
        click.echo(f"keyaudit: no rule matches {wanted}{hint}", err=True)
    if fmt == "json":
        import orjson

        payload = [meta.model_dump(mode="json") for meta in selected]
        sys.stdout.buffer.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2) + b"\n")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(selected)} rules")
    for column in ("Rule", "Severity", "Providers", "Title", "Controls"):
        table.add_column(column, overflow="fold")
    for m in selected:
        table.add_row(m.id, m.severity.value, ", ".join(m.providers), m.title, ", ".join(m.controls))
    Console().print(table)


@rules.command("show")
@click.argument("rule_id")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def rules_show(rule_id: str, fmt: str) -> None:
    """Show one rule: rationale, remediation per provider, control mappings."""
    from scanner.engine import discover_rules

    catalogue = {r.meta.id: r.meta for r in discover_rules()}
    meta = catalogue.get(rule_id)
    if meta is None:
        import difflib

        close = difflib.get_close_matches(rule_id, catalogue, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see `keyaudit rules list`"
        raise InputError(f"rules show: unknown rule id '{rule_id}'{hint}")
    if fmt == "json":
        import orjson

        sys.stdout.buffer.write(
            orjson.dumps(meta.model_dump(mode="json"), option=orjson.OPT_INDENT_2) + b"\n"
        )
        return
    from scanner.catalogue import framework_title, split_control

    click.echo(f"{meta.id}  [{meta.severity.value}]  {meta.title}")
    click.echo(f"Providers: {', '.join(meta.providers)}")
    click.echo("Controls:")
    by_framework: dict[str, list[str]] = {}
    for control in meta.controls:
        by_framework.setdefault(split_control(control)[0], []).append(control)
    for framework, controls in by_framework.items():
        click.echo(f"  {framework_title(framework)}: {', '.join(controls)}")
    click.echo(f"\nWhy it matters:\n  {meta.rationale}")
    click.echo("\nRemediation:")
    for provider, text in meta.remediation.items():
        click.echo(f"  {provider}: {text}")


# ----------------------------------------------------------------------------------------------- policy
@cli.group()
def policy() -> None:
    """The CEK policy file: write a starter, check one."""


@policy.command("init")
@click.argument("path", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
def policy_init(path: Path | None, force: bool) -> None:
    """Write a commented starter policy to PATH (or stdout)."""
    from importlib.resources import files

    text = (files("scanner") / "data" / "policy-starter.yaml").read_text(encoding="utf-8")
    if path is None:
        click.echo(text, nl=False)
        return
    if path.exists() and not force:
        raise InputError(f"{path}: already exists; use --force to overwrite it")
    from scanner.output import AtomicFile

    target = AtomicFile(path)
    target.stream.write(text.encode("utf-8"))
    target.commit()
    click.echo(f"wrote {path}", err=True)


@policy.command("check")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
def policy_check(path: Path) -> None:
    """Validate a policy file: exit 0 when valid, 2 with file, line and key when not."""
    from scanner.policy import load_policy

    loaded = load_policy(path)
    doc = loaded.document
    info = doc.policy
    roles = ", ".join(f"{name}: {len(role.people)}" for name, role in doc.roles.items())
    click.echo(
        f"{path}: valid CEK policy {info.id or '(no id)'} version {info.version or '-'}; owner {info.owner or '-'}; "
        f"roles ({roles}); rotation max {doc.rotation.max_days} days; min RSA {doc.algorithms.min_rsa_bits} bits"
    )


# ----------------------------------------------------------------------------------------------- shared run
def _run(  # noqa: PLR0915 (the one place a run is sequenced: validate, lock, collect, judge, record)
    load: Callable[[], Any],
    *,
    mode: str,
    as_of: datetime | None,
    extra: dict[str, Any],
    policy_path: Path | None,
    waivers_path: Path | None,
    formats: Sequence[str],
    output: Path | None,
    fail_on: str,
    only_failed: bool,
    evidence_dir: Path | None = None,
    to: Sequence[str] = (),
    spool_dir: Path | None = None,
    state: str | None = None,
    no_state: bool = False,
    only_new: bool = False,
    wait: bool = False,
    wait_timeout: float | None = None,
    metrics_file: Path | None = None,
    state_by_default: bool = False,
    quiet: bool,
    verbose: bool,
    log_format: str | None,
) -> None:
    from scanner.engine import discover_rules
    from scanner.logs import configure_logging, get_logger
    from scanner.output import plan_outputs
    from scanner.policy import default_policy, load_policy
    from scanner.progress import progress_display
    from scanner.rule import Severity
    from scanner.run import RunRequest, execute, exit_code, new_run_id
    from scanner.waivers import load_waivers

    run_id = new_run_id()
    started = datetime.now(UTC)
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    configure_logging(
        run_id=run_id, fmt=log_format or ("console" if sys.stderr.isatty() else "json"), level=level
    )
    log = get_logger()
    # Validate every input before any work, so bad input never leaves half-written output behind.
    targets = plan_outputs(formats, output, stdout_is_tty=sys.stdout.isatty())
    loaded_policy = load_policy(policy_path) if policy_path is not None else default_policy()
    waivers = load_waivers(waivers_path) if waivers_path is not None else None
    catalogue = discover_rules()
    if waivers is not None:
        waivers.check_rules(rule.meta.id for rule in catalogue)
    state_target = _state_options(
        state, no_state, state_by_default, only_new, wait, wait_timeout, metrics_file
    )
    implicit_state = state_target is not None and not state  # the per-user default, nobody named it
    delivery = None
    if to:
        from scanner.delivery.deliver import RunDelivery

        delivery = RunDelivery.prepare(to, spool_dir)
    bundle = None
    if evidence_dir is not None:
        from scanner.evidence import EvidenceBundle

        bundle = EvidenceBundle.prepare(evidence_dir)
    if delivery is not None:
        targets = delivery.add_result_target(targets)
    log.info(
        "run.start",
        mode=mode,
        policy=str(policy_path) if policy_path else None,
        waivers=str(waivers_path) if waivers_path else None,
        state=state_target.display if state_target else None,
    )
    session = None
    outcome = None
    try:
        if state_target is not None:
            session = _begin_state(
                state_target,
                implicit=implicit_state,
                required=only_new,
                run_id=run_id,
                started=started,
                wait=wait,
                timeout=wait_timeout,
                lane=_lane(extra),
            )
        inventory = load()
        tracker = session.make_tracker(inventory, [r.meta for r in catalogue]) if session else None
        with progress_display(enabled=not quiet) as progress:
            outcome = execute(
                RunRequest(
                    inventory=inventory,
                    policy=loaded_policy,
                    rules=catalogue,
                    outputs=[*targets, *(bundle.outputs if bundle else ())],
                    fail_on=None if fail_on == "none" else Severity(fail_on),
                    run_id=run_id,
                    started_at=started,
                    only_failed=only_failed,
                    color=sys.stdout.isatty(),
                    as_of=as_of,
                    mode=mode,
                    extra_scan_fields=extra,
                    waivers=waivers,
                    tracker=tracker,
                    state_info=session.info() if session else None,
                    only_new=only_new,
                ),
                progress,
            )
        code = exit_code(outcome.summary)
        if session is not None:
            session.record(mode=mode, exit_code=code, scan=outcome.scan)
        if bundle is not None:
            written = bundle.finish(inventory, policy_path, waivers_path)
            log.info("evidence.written", directory=str(written))
        if delivery is not None:
            delivery.deliver()  # a destination that stays down warns; the exit code stays the findings'
    except BaseException as exc:
        if bundle is not None:
            bundle.abort()
        failed_code = _exit_code_of(exc)
        if session is not None and not session.recorded and failed_code != 0:
            with contextlib.suppress(Exception):  # the original error is what the user must see
                session.record(mode=mode, exit_code=failed_code, scan=None, error=_one_line(exc))
        if metrics_file is not None and failed_code != 0:
            with contextlib.suppress(Exception):
                _write_metrics(
                    metrics_file,
                    run_id=run_id,
                    mode=mode,
                    started=started,
                    code=failed_code,
                    outcome=None,
                    session=session,
                )
        if session is not None:
            session.close()
        raise
    finally:
        if delivery is not None:
            delivery.cleanup()
    if metrics_file is not None:
        _write_metrics(
            metrics_file,
            run_id=run_id,
            mode=mode,
            started=started,
            code=code,
            outcome=outcome,
            session=session,
        )
    if session is not None:
        session.close()
    summary = outcome.summary
    log.info("run.finish", findings=summary.total, by_status=summary.to_dict()["by_status"], exit_code=code)
    sys.exit(code)


def _begin_state(
    target: Any,
    *,
    implicit: bool,
    required: bool,
    run_id: str,
    started: datetime,
    wait: bool,
    timeout: float | None,
    lane: str | None,
) -> Any:
    """Lock and read the state store before collecting: a second scan on a store named with --state stops
    here at once (exit 1) unless --wait. The per-user default store, which nobody named, is waited for
    (two ad hoc scans in two terminals both work), and when it cannot be used at all (read-only home,
    a store from a newer keyaudit) the scan still runs, without history, and says so."""
    from scanner.errors import RuntimeFailure
    from scanner.logs import get_logger
    from scanner.state.session import StateSession

    try:
        return StateSession.begin(
            target, run_id=run_id, started_at=started, wait=wait or implicit, wait_timeout=timeout, lane=lane
        )
    except (InputError, RuntimeFailure, OSError) as exc:
        if not implicit or required:  # --only-new without history would report nothing: never silently
            raise
        get_logger().warning(
            "state.unavailable",
            store=target.display,
            error=str(exc),
            message="this run is not recorded and its findings carry no change labels; "
            "choose a store with --state DB (or KEYAUDIT_STATE), or pass --no-state",
        )
        return None


def _lane(extra: dict[str, Any]) -> str | None:
    """A shard's lane of the state store's lock ("I/N"), or None for a whole scan."""
    shard = extra.get("shard")
    return f"{shard['index']}/{shard['count']}" if shard else None


def _state_options(  # noqa: PLR0917 (one check of the scheduling flags, called once)
    state: str | None,
    no_state: bool,
    by_default: bool,
    only_new: bool,
    wait: bool,
    wait_timeout: float | None,
    metrics_file: Path | None,
) -> Any:
    """Checks the state, locking and metrics flags together; the state store this run uses, or None."""
    target = None
    if no_state:
        if state:
            raise InputError("--no-state: cannot be combined with --state (or KEYAUDIT_STATE)")
    elif state or by_default:
        # SQLAlchemy loads only for runs that keep history.
        from scanner.state.store import StateTarget, default_state_path

        target = StateTarget.parse(state or default_state_path())
    if only_new and target is None:
        raise InputError(
            "--only-new: needs a state store to know what is new (drop --no-state, or give --state DB)"
        )
    if (wait or wait_timeout is not None) and target is None:
        raise InputError("--wait: only meaningful with a state store (it waits for the store's lock)")
    if wait_timeout is not None and not wait:
        raise InputError("--wait-timeout: only meaningful with --wait")
    if metrics_file is not None:
        _check_metrics_path(metrics_file)
    return target


def _check_metrics_path(path: Path) -> None:
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise InputError(
            f"--metrics-file {path}: is a directory; give a file such as {path / 'keyaudit.prom'}"
        )
    if path.exists() and not path.is_file():
        # The file is replaced by rename (readers never see half of it): only a regular file can be.
        raise InputError(f"--metrics-file {path}: not a regular file (it is replaced atomically by rename)")
    if not parent.is_dir():
        raise InputError(f"--metrics-file {path}: directory {parent} does not exist")


def _exit_code_of(exc: BaseException) -> int:
    if isinstance(exc, SystemExit):
        return exc.code if isinstance(exc.code, int) else 1
    if isinstance(exc, KeyauditError):
        return exc.exit_code
    if isinstance(exc, click.ClickException):
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt | click.exceptions.Abort):
        return 130
    return 1


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:500]


def _write_metrics(
    path: Path,
    *,
    run_id: str,
    mode: str,
    started: datetime,
    code: int,
    outcome: Any,
    session: Any,
) -> None:
    from scanner.metrics import RunMetrics, write_metrics

    finished = datetime.now(UTC)
    scan = outcome.scan if outcome is not None else {}
    last_success = session.last_success_at() if session is not None else None
    if outcome is not None and (last_success is None or last_success < finished):
        last_success = finished if code in (0, 3) else last_success
    write_metrics(
        path,
        RunMetrics(
            run_id=run_id,
            mode=mode,
            started_at=started,
            finished_at=finished,
            exit_code=code,
            providers=scan.get("providers") or (),
            summary=outcome.summary if outcome is not None else None,
            coverage=scan.get("coverage") or (),
            changes=(scan.get("state") or {}).get("changes") or {},
            last_success_at=last_success,
        ),
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: maps errors to SPEC 3 exit codes with a message naming the place."""
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="keyaudit", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:  # usage errors: exit 2
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("keyaudit: aborted", err=True)
        sys.exit(130)
    except KeyauditError as exc:
        click.echo(f"keyaudit: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except RuleCatalogError as exc:  # a defect of keyaudit itself, not of the user's input
        click.echo(f"keyaudit: internal error: {exc}", err=True)
        sys.exit(1)
    except OSError as exc:
        click.echo(f"keyaudit: error: {exc}", err=True)
        sys.exit(1)
    sys.exit(0)
