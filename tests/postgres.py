"""A throwaway PostgreSQL cluster for the tests, from Debian's server binaries (/usr/lib/postgresql/*/bin).

Each pytest session (each xdist worker) initdb's its own cluster in a temporary directory, listening on
127.0.0.1 only (a free port; the unix socket stays in that directory), with SCRAM authentication and a
random superuser password, and stops and removes it at the end. As root the cluster runs as the `postgres`
system user, since PostgreSQL refuses to run as root. Without the binaries the tests fail and say how to
install them (scripts/ensure-postgresql.sh), unless KEYAUDIT_SKIP_POSTGRES=1."""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql

SKIP_ENV = "KEYAUDIT_SKIP_POSTGRES"
SERVER_ROOT = Path("/usr/lib/postgresql")
SUPERUSER = "keyaudit"
HOST = "127.0.0.1"
START_TIMEOUT = 30  # seconds pg_ctl waits for the server to accept connections
PORT_ATTEMPTS = 5  # a free port can be taken by another process (or xdist worker) before the server binds it

# Durability is worthless for a throwaway cluster; small buffers keep startup quick on a 2-core CI machine.
SERVER_SETTINGS = {
    "listen_addresses": HOST,
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "16MB",
    "max_wal_senders": "0",
    "wal_level": "minimal",
    "log_min_messages": "warning",
}


def find_bin_dir(root: Path = SERVER_ROOT) -> Path | None:
    """The newest ``<root>/<major>/bin`` holding both ``initdb`` and ``pg_ctl`` (numeric order: 15 > 9.6)."""
    found: list[tuple[tuple[int, ...], Path]] = []
    for bin_dir in root.glob("*/bin"):
        version = bin_dir.parent.name
        if not re.fullmatch(r"\d+(\.\d+)*", version):
            continue
        if all(os.access(bin_dir / tool, os.X_OK) for tool in ("initdb", "pg_ctl")):
            found.append((tuple(int(part) for part in version.split(".")), bin_dir))
    return max(found)[1] if found else None


def require_bin_dir(root: Path = SERVER_ROOT) -> Path:
    """The server binaries, or a skip (opt-out set) or a failure saying how to install them."""
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"{SKIP_ENV}=1: the PostgreSQL tests are skipped on request")
    bin_dir = find_bin_dir(root)
    if bin_dir is None:
        pytest.fail(
            f"PostgreSQL server binaries (initdb, pg_ctl) are missing under {root}/*/bin: run "
            f"`bash scripts/ensure-postgresql.sh` (installs Debian's postgresql package), or set {SKIP_ENV}=1 "
            "to skip the PostgreSQL tests on purpose.",
            pytrace=False,
        )
    return bin_dir


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _server_account() -> pwd.struct_passwd | None:
    """The account the server runs as: `postgres` when we are root, else None (ourselves)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail(
            "running as root, but there is no `postgres` user to run the test cluster as (PostgreSQL refuses "
            "to run as root): run `bash scripts/ensure-postgresql.sh`, whose Debian package creates it.",
            pytrace=False,
        )


def _environment() -> dict[str, str]:
    # A developer's PGDATA, PGPORT, PGHOST... must not redirect the test cluster or its tools.
    return {name: value for name, value in os.environ.items() if not name.startswith("PG")}


@dataclass
class LocalPostgres:
    bin_dir: Path
    directory: Path
    password: str = field(repr=False)  # kept out of reprs: pytest prints fixture values on failures
    account: pwd.struct_passwd | None = field(repr=False)
    port: int = 0
    startup_seconds: float = 0.0

    host = HOST
    user = SUPERUSER

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def log_file(self) -> Path:
        return self.directory / "server.log"

    @classmethod
    def start(cls, bin_dir: Path) -> LocalPostgres:
        """initdb a cluster in a new temporary directory and start it; everything is removed on failure."""
        began = time.monotonic()
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        # Directly under /tmp, not pytest's 0700 basetemp: the postgres user must reach it, and the
        # unix socket path must stay under the kernel's 107-byte limit.
        directory = Path(tempfile.mkdtemp(prefix=f"keyaudit-pg-{worker}-"))
        server = cls(bin_dir, directory, secrets.token_urlsafe(24), _server_account())
        try:
            if server.account is not None:
                os.chown(directory, server.account.pw_uid, server.account.pw_gid)
            server._initdb()
            server._start_on_free_port()
        except BaseException:
            server.stop()
            raise
        server.startup_seconds = time.monotonic() - began
        return server

    def _run(self, tool: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        as_account: dict[str, Any] = {}
        if self.account is not None:
            as_account = {"user": self.account.pw_uid, "group": self.account.pw_gid, "extra_groups": []}
        return subprocess.run(
            [str(self.bin_dir / tool), *args],
            cwd=self.directory,  # root's working directory may be unreadable to postgres
            env=_environment(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
            **as_account,
        )

    def _initdb(self) -> None:
        # The password goes through a file, never the command line (visible to every user in ps).
        password_file = self.directory / "superuser-password"
        password_file.touch(mode=0o600)
        if self.account is not None:
            os.chown(password_file, self.account.pw_uid, self.account.pw_gid)
        password_file.write_text(self.password, encoding="utf-8")
        try:
            result = self._run(
                "initdb", "--pgdata", str(self.data_dir), "--username", SUPERUSER,
                "--pwfile", str(password_file), "--auth", "scram-sha-256", "--encoding", "UTF8",
                "--locale", "C", "--no-sync", "--no-instructions",
            )  # fmt: skip
        finally:
            password_file.unlink()
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed ({result.returncode}):\n{result.stdout}{result.stderr}")
        settings = {**SERVER_SETTINGS, "unix_socket_directories": str(self.directory)}
        with (self.data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\n# keyaudit test cluster\n")
            conf.writelines(f"{name} = '{value}'\n" for name, value in settings.items())

    def _start_on_free_port(self) -> None:
        for _ in range(PORT_ATTEMPTS):
            self.port = free_port()
            result = self._run(
                "pg_ctl", "start", "--pgdata", str(self.data_dir), "--log", str(self.log_file),
                "--wait", "--timeout", str(START_TIMEOUT), "--options", f"-p {self.port}",
                timeout=START_TIMEOUT + 10,
            )  # fmt: skip
            if result.returncode == 0:
                return
            if "could not bind" not in self.server_log():
                break
            self.log_file.unlink()  # the next attempt's log starts clean
        raise RuntimeError(
            f"pg_ctl start failed ({result.returncode}):\n{result.stdout}{result.stderr}\n"
            f"server log:\n{self.server_log()}"
        )

    def server_log(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace") if self.log_file.exists() else ""

    def stop(self) -> None:
        """Stop the server (fast, then immediate, then SIGKILL) and remove the cluster directory."""
        pid_file = self.data_dir / "postmaster.pid"
        for mode in ("fast", "immediate"):
            if not pid_file.exists():
                break
            self._run("pg_ctl", "stop", "--pgdata", str(self.data_dir), "--mode", mode, "--wait", timeout=40)
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text().split("\n", 1)[0]), signal.SIGKILL)
        shutil.rmtree(self.directory)

    def url(self, dbname: str = "postgres") -> str:
        return (
            f"postgresql://{quote(SUPERUSER, safe='')}:{quote(self.password, safe='')}"
            f"@{HOST}:{self.port}/{quote(dbname, safe='')}"
        )

    def connect(self, dbname: str = "postgres") -> psycopg.Connection[tuple[Any, ...]]:
        """A superuser connection in autocommit mode (CREATE/DROP DATABASE cannot run in a transaction)."""
        return psycopg.connect(self.url(dbname), autocommit=True)

    def create_database(self, label: str = "test") -> str:
        """A new empty database named after ``label`` (made unique), returning its name."""
        stem = re.sub(r"[^a-z0-9_]+", "_", label.lower()).strip("_")[:40] or "test"
        name = f"{stem}_{secrets.token_hex(4)}"
        with self.connect() as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return name

    def drop_database(self, name: str) -> None:
        with self.connect() as admin:
            # FORCE (PostgreSQL 13+) first terminates the connections a test left open.
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    @contextlib.contextmanager
    def database(self, label: str = "test") -> Iterator[str]:
        """The URL of a fresh database, dropped on exit."""
        name = self.create_database(label)
        try:
            yield self.url(name)
        finally:
            self.drop_database(name)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[LocalPostgres]:
    """This session's own cluster (one per xdist worker), stopped and removed even when tests fail."""
    server = LocalPostgres.start(require_bin_dir())
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: LocalPostgres, request: pytest.FixtureRequest) -> Iterator[str]:
    """``postgresql://keyaudit:<password>@127.0.0.1:<port>/<db>`` for a database of this test's own."""
    with postgres_server.database(request.node.name) as url:
        yield url
