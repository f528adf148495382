"""The delivery core: spool every batch, then send with bounded retries; report what stays spooled.

Order of work for one result and its destinations: (1) every destination's batches are written to its
spool (atomically, durably); (2) each destination's spool is sent oldest first (so batches an earlier
run left behind go out too), a batch being removed only once the destination accepted it. A destination
that stays down keeps its batches; the run goes on and says so. Nothing here changes a run's exit code.
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scanner.delivery import open_destinations
from scanner.delivery.base import DeliveryError, Destination, EventContext, SpooledEvent
from scanner.delivery.spool import DestinationSpool, SpoolCorrupt, default_spool_root, encoded_size
from scanner.errors import InputError
from scanner.findings import Finding
from scanner.logs import get_logger
from scanner.output import OutputTarget

_jitter = random.Random()  # noqa: S311 (spreads retries out; not security-relevant)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries per batch: at most ``attempts`` sends within ``budget_seconds``, waiting
    ``first_delay`` * 2^n (capped at ``max_delay``, with jitter) between them."""

    attempts: int = 5
    budget_seconds: float = 30.0
    first_delay: float = 0.5
    max_delay: float = 8.0
    lock_wait_seconds: float = 10.0

    @classmethod
    def from_env(cls) -> RetryPolicy:
        """Defaults, adjusted by KEYAUDIT_DELIVERY_ATTEMPTS, _BUDGET (seconds per batch) and _BACKOFF
        (first delay, seconds)."""
        default = cls()
        return cls(
            attempts=int(_env_number("KEYAUDIT_DELIVERY_ATTEMPTS", default.attempts, 1, 100)),
            budget_seconds=_env_number("KEYAUDIT_DELIVERY_BUDGET", default.budget_seconds, 0.1, 3600),
            first_delay=_env_number("KEYAUDIT_DELIVERY_BACKOFF", default.first_delay, 0.0, 60),
        )

    def delay(self, attempt: int) -> float:
        ceiling = min(self.max_delay, self.first_delay * 2.0 ** (attempt - 1))
        return ceiling / 2 + _jitter.uniform(0, ceiling / 2)


def _env_number(name: str, default: float, low: float, high: float) -> float:
    text = os.environ.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise InputError(f"environment variable {name}={text!r}: expected a number from {low:g} to {high:g}")
    return value


@dataclass
class Outcome:
    """What happened to one destination."""

    destination: str  # redacted URL
    spool_dir: Path
    delivered: int = 0  # events accepted by the destination in this call
    pending: int = 0  # events still spooled afterwards
    error: str | None = None  # why delivery stopped (no secrets)

    @property
    def complete(self) -> bool:
        return self.pending == 0 and self.error is None


def event_context(scan: dict[str, Any]) -> EventContext:
    """Events carry the time the findings were judged, so a resent event is the same event."""
    moment = None
    finished = scan.get("finished_at")
    if isinstance(finished, str):
        try:
            moment = datetime.fromisoformat(finished)
        except ValueError:
            moment = None
    if moment is None or moment.tzinfo is None:
        moment = datetime.now(UTC)
    return EventContext(time=moment.astimezone(UTC), scan=scan)


def spool_findings(
    destination: Destination, spool: DestinationSpool, findings: Iterable[Finding], context: EventContext
) -> int:
    """Write every finding's event into the destination's spool, in batches; returns the event count."""
    spool.ensure()
    count = 0
    for batch in _batches(destination, findings, context):
        spool.write_batch(batch)
        count += len(batch)
    return count


def _batches(
    destination: Destination, findings: Iterable[Finding], context: EventContext
) -> Iterator[list[SpooledEvent]]:
    max_events, max_bytes = destination.batch_limits()
    batch: list[SpooledEvent] = []
    size = 0
    for finding in findings:
        event = SpooledEvent(finding.finding_id, destination.prepare(finding, context))
        event_size = encoded_size(event)
        if batch and (len(batch) >= max_events or size + event_size > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(event)
        size += event_size
    if batch:
        yield batch


def flush(destination: Destination, spool: DestinationSpool, policy: RetryPolicy) -> Outcome:
    """Send the destination's spooled batches, oldest first, until done or the destination fails."""
    log = get_logger()
    outcome = Outcome(destination.name, spool.directory)
    if not spool.directory.is_dir():
        return outcome
    with spool.locked(wait_seconds=policy.lock_wait_seconds) as held:
        if not held:
            outcome.error = "another keyaudit process is delivering to this destination"
        else:
            for path in spool.batches():
                try:
                    events = spool.read_batch(path)
                except FileNotFoundError:
                    continue  # delivered by another process
                except SpoolCorrupt as exc:
                    kept = spool.set_aside(path)  # kept for a person to look at; the rest goes on
                    log.error(
                        "delivery.batch_unreadable",
                        destination=destination.name,
                        problem=str(exc),
                        kept=str(kept),
                    )
                    outcome.error = f"an unreadable batch was set aside as {kept.name}"
                    continue
                error = _send_with_retries(destination, events, policy)
                if error is not None:
                    outcome.error = error
                    break
                spool.remove(path)
                outcome.delivered += len(events)
                log.debug("delivery.batch_sent", destination=destination.name, events=len(events))
    outcome.pending = spool.pending_events()
    return outcome


def _send_with_retries(
    destination: Destination, events: Sequence[SpooledEvent], policy: RetryPolicy
) -> str | None:
    """None when accepted, else why not (after the retries the policy allows)."""
    log = get_logger()
    deadline = time.monotonic() + policy.budget_seconds
    problem = "not sent"
    attempt = 0
    while attempt < policy.attempts:
        attempt += 1
        try:
            destination.send(events, deadline=deadline)
            return None
        except DeliveryError as exc:
            problem = str(exc)
            retryable = exc.retryable
        except OSError as exc:  # a destination that let a socket error through: worth another try
            problem = exc.strerror or type(exc).__name__
            retryable = True
        log.debug(
            "delivery.attempt_failed",
            destination=destination.name,
            attempt=attempt,
            problem=problem,
            retryable=retryable,
        )
        if not retryable:
            return problem
        delay = policy.delay(attempt)
        if attempt >= policy.attempts or time.monotonic() + delay >= deadline:
            break
        time.sleep(delay)
    return f"{problem} (after {attempt} attempt(s))"


def deliver(
    findings: Sequence[Finding],
    scan: dict[str, Any],
    destinations: Sequence[Destination],
    *,
    spool_root: Path,
    policy: RetryPolicy,
) -> list[Outcome]:
    """Spool the findings for every destination first, then send each destination's spool."""
    context = event_context(scan)
    spools = [DestinationSpool(spool_root, d.url) for d in destinations]
    log = get_logger()
    for destination, spool in zip(destinations, spools, strict=True):
        count = spool_findings(destination, spool, findings, context)
        log.debug("delivery.spooled_before_send", destination=destination.name, events=count)
    return flush_all(destinations, spools, policy)


def flush_all(
    destinations: Sequence[Destination], spools: Sequence[DestinationSpool], policy: RetryPolicy
) -> list[Outcome]:
    outcomes = []
    try:
        for destination, spool in zip(destinations, spools, strict=True):
            outcomes.append(flush(destination, spool, policy))
    finally:
        for destination in destinations:
            destination.close()
    report(outcomes)
    return outcomes


def report(outcomes: Sequence[Outcome]) -> None:
    log = get_logger()
    for outcome in outcomes:
        if outcome.complete:
            log.info("delivery.done", destination=outcome.destination, events=outcome.delivered)
        else:
            log.warning(
                "delivery.incomplete",
                destination=outcome.destination,
                delivered_events=outcome.delivered,
                spooled_events=outcome.pending,
                spool_dir=str(outcome.spool_dir),
                problem=outcome.error,
                hint="the spooled events are sent by the next run to this destination or by `keyaudit send --spool`",
            )


def ensure_spool_root(spool_dir: Path | None) -> Path:
    root = spool_dir if spool_dir is not None else default_spool_root()
    try:
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise InputError(
            f"--spool-dir {root}: cannot create the spool directory: {exc.strerror or exc}"
        ) from exc
    if not os.access(root, os.W_OK):
        raise InputError(f"--spool-dir {root}: not writable")
    return root


@dataclass
class RunDelivery:
    """``--to`` on a run: validated before the run, fed from the run's native JSON result after it."""

    destinations: list[Destination]
    spool_root: Path
    policy: RetryPolicy
    result_path: Path | None = None
    temp_dir: Path | None = None

    @classmethod
    def prepare(cls, urls: Sequence[str], spool_dir: Path | None) -> RunDelivery:
        """Validate the destinations, the retry settings and the spool directory; no connection yet."""
        destinations = open_destinations(urls, flag="--to")
        return cls(destinations, ensure_spool_root(spool_dir), RetryPolicy.from_env())

    def add_result_target(self, targets: Sequence[OutputTarget]) -> list[OutputTarget]:
        """Deliver from the JSON result file the user asked for, else from a private temporary one."""
        chosen = next((t.path for t in targets if t.format == "json" and t.path is not None), None)
        if chosen is not None:
            self.result_path = chosen
            return list(targets)
        self.temp_dir = Path(tempfile.mkdtemp(prefix="keyaudit-deliver-"))
        self.result_path = self.temp_dir / "result.json"
        return [*targets, OutputTarget("json", self.result_path)]

    def deliver(self) -> list[Outcome]:
        from scanner.results import load_result

        if self.result_path is None:
            raise RuntimeError("add_result_target() was not called before the run")
        scan, findings = load_result(self.result_path)
        return deliver(findings, scan, self.destinations, spool_root=self.spool_root, policy=self.policy)

    def cleanup(self) -> None:
        if self.temp_dir is not None:
            shutil.rmtree(self.temp_dir, ignore_errors=True)


def send_command(
    result: Path | None, urls: Sequence[str], *, from_spool: bool, spool_dir: Path | None
) -> None:
    """``keyaudit send``: deliver a saved result and/or resend the spool; RuntimeFailure (exit 1) when
    events remain spooled."""
    from scanner.delivery import open_destination
    from scanner.delivery.spool import spooled_urls
    from scanner.results import load_result

    destinations = open_destinations(urls, flag="--to")
    policy = RetryPolicy.from_env()
    loaded = load_result(result) if result is not None else None  # bad input: exit 2 before any sending
    root = ensure_spool_root(spool_dir)
    outcomes: list[Outcome] = []
    if loaded is not None:
        scan, findings = loaded
        outcomes += deliver(findings, scan, destinations, spool_root=root, policy=policy)
    if from_spool:
        handled = {d.url.key for d in destinations} if loaded is not None else set()
        if urls:
            chosen = [d for d in destinations if d.url.key not in handled]
        else:
            try:
                spooled = spooled_urls(root)
            except SpoolCorrupt as exc:
                raise InputError(f"--spool-dir {root}: {exc}") from exc
            chosen = [open_destination(u.redacted, flag="--spool") for u in spooled if u.key not in handled]
        if not chosen and loaded is None:
            get_logger().info("send.nothing_spooled", spool_dir=str(root))
        outcomes += flush_all(chosen, [DestinationSpool(root, d.url) for d in chosen], policy)
    stuck = [o for o in outcomes if not o.complete]
    if stuck:
        from scanner.errors import RuntimeFailure

        names = ", ".join(f"{o.destination} ({o.pending} event(s))" for o in stuck)
        raise RuntimeFailure(
            f"not everything was delivered; still spooled for {names}: resend with `keyaudit send --spool`"
        )
