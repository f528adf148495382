"""One scan at a time per state store: real processes contending for SQLite and PostgreSQL stores."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

SAMPLE = str(REPO / "samples" / "inventory-multicloud.json")
POLICY = str(REPO / "samples" / "cek-policy.yaml")

# A process that takes the scan lock through the real store code, says so, and holds it.
HOLDER = """
import sys, time
from scanner.state.lock import Holder
from scanner.state.store import StateStore, StateTarget
store = StateStore.open(StateTarget.parse(sys.argv[1]))
store.acquire(Holder.me("holder-run"), wait=False, timeout=None, lane=sys.argv[3] if len(sys.argv) > 3 else None)
print("LOCKED", flush=True)
time.sleep(float(sys.argv[2]))
store.close()
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "state.db")
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def hold(state: str) -> Iterator[Any]:
    started: list[subprocess.Popen[str]] = []

    def start(seconds: float, lane: str | None = None) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, state, str(seconds), *([lane] if lane else [])],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO,
        )  # fmt: skip
        started.append(process)
        assert process.stdout is not None
        for line in process.stdout:  # bounded: the holder prints LOCKED or exits
            if "LOCKED" in line:
                return process
        raise AssertionError(f"the lock holder exited ({process.wait()}) without taking the lock")

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def _evaluate(keyaudit: Any, state: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return keyaudit(
        "evaluate", SAMPLE, "--policy", POLICY, "--as-of", "2026-11-22", "--fail-on", "none",
        "--state", state, "--format", "json", "-o", "out.json", *extra, timeout=120,
    )  # fmt: skip


def _events(stderr: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def test_a_second_scan_exits_at_once_naming_the_holder(
    keyaudit: Any, state: str, hold: Any, tmp_path: Path
) -> None:
    holder = hold(120)
    blocked = _evaluate(keyaudit, state)
    assert blocked.returncode == 1
    assert f"locked by run holder-run (pid {holder.pid}" in blocked.stderr
    assert "--wait" in blocked.stderr
    assert "secret" not in blocked.stderr
    assert not (tmp_path / "out.json").exists()  # nothing half-written


def test_wait_waits_for_the_holder(state: str, hold: Any, tmp_path: Path) -> None:
    holder = hold(300)
    waiter = subprocess.Popen(
        [sys.executable, "-m", "scanner", "evaluate", SAMPLE, "--policy", POLICY, "--as-of", "2026-11-22",
         "--fail-on", "none", "--state", state, "--format", "json", "-o", "out.json", "--wait"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert waiter.stderr is not None
    seen = []
    for line in waiter.stderr:  # bounded: the waiter logs that it waits, or ends
        seen.append(line)
        if "state.lock.waiting" in line:
            break
    assert any("state.lock.waiting" in line for line in seen), seen
    holder.terminate()  # the holder goes away: its lock with it
    _, rest = waiter.communicate(timeout=120)
    assert waiter.returncode == 0, "".join(seen) + rest
    assert (tmp_path / "out.json").exists()


def test_wait_timeout_gives_up(keyaudit: Any, state: str, hold: Any) -> None:
    hold(120)
    gave_up = _evaluate(keyaudit, state, "--wait", "--wait-timeout", "1")
    assert gave_up.returncode == 1
    assert "still locked by run holder-run" in gave_up.stderr and "after waiting 1 s" in gave_up.stderr


def test_a_killed_holder_leaves_a_stale_lock_that_is_detected_and_taken_over(
    keyaudit: Any, state: str, hold: Any
) -> None:
    holder = hold(120)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)
    after = _evaluate(keyaudit, state)
    assert after.returncode == 0, after.stderr
    [stale] = [e for e in _events(after.stderr) if e["event"] == "state.lock.stale"]
    assert f"pid {holder.pid}" in stale["previous_holder"] and stale["previous_alive"] is False
    again = _evaluate(keyaudit, state)  # released cleanly this time: no stale report
    assert "state.lock.stale" not in [e["event"] for e in _events(again.stderr)]


def test_two_concurrent_scans_with_wait_both_record_in_turn(
    keyaudit: Any, state: str, tmp_path: Path
) -> None:
    def command(n: int) -> list[str]:
        return [
            sys.executable, "-m", "scanner", "evaluate", SAMPLE, "--policy", POLICY, "--as-of", "2026-11-22",
            "--fail-on", "none", "--state", state, "--format", "json", "-o", f"out{n}.json", "--wait",
        ]  # fmt: skip

    # Results go to files: a process blocked on a full stdout pipe while holding the lock would stall both.
    runs = [
        subprocess.Popen(
            command(n), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=tmp_path
        )
        for n in range(2)
    ]
    errors = [process.communicate(timeout=180)[1] for process in runs]
    assert [process.returncode for process in runs] == [0, 0], errors
    results = [json.loads((tmp_path / f"out{n}.json").read_text()) for n in range(2)]
    changes = sorted(r["scan"]["state"]["changes"]["new"] for r in results)
    assert changes[0] == 0 < changes[1]  # the second to get the lock saw the first's findings as known
    history = keyaudit("history", "--state", state, "--format", "json")
    assert len(json.loads(history.stdout)) == 2


def test_shards_share_a_store_but_each_lane_and_a_whole_scan_are_exclusive(state: str, hold: Any) -> None:
    from scanner.state.lock import Holder, StateLocked
    from scanner.state.store import StateStore, StateTarget

    hold(120, "0/2")  # shard 0 of 2 is running
    other = StateStore.open(StateTarget.parse(state))
    other.acquire(Holder.me("shard-1"), wait=False, timeout=None, lane="1/2")  # its sibling runs alongside
    other.close()
    for lane in ("0/2", None):  # the same shard again, or a whole-store scan: refused at once
        blocked = StateStore.open(StateTarget.parse(state))
        with pytest.raises(StateLocked):
            blocked.acquire(Holder.me("late"), wait=False, timeout=None, lane=lane)
        blocked.close()
