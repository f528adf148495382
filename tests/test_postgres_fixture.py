"""The PostgreSQL fixtures (tests/postgres.py) give a real server: Debian's binaries, a cluster of this
session's own on 127.0.0.1 only, SCRAM passwords that are enforced and never written out, and a database
per test that is isolated from the others and dropped afterwards."""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from tests.postgres import SKIP_ENV, LocalPostgres, find_bin_dir, require_bin_dir


def listening_addresses(port: int) -> set[str]:
    """Addresses with a TCP socket listening on ``port`` in this network namespace, from /proc/net."""
    found: set[str] = set()
    for table in ("tcp", "tcp6"):
        path = Path("/proc/net") / table
        if not path.exists():
            continue
        for row in path.read_text().splitlines()[1:]:
            local, state = row.split()[1], row.split()[3]
            address, port_hex = local.split(":")
            if state != "0A" or int(port_hex, 16) != port:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(address)  # each 32-bit word in host (little-endian) order
            packed = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            found.add(str(ipaddress.ip_address(packed)))
    return found


# ----------------------------------------------------------------------------------------------- server
def test_a_real_postgresql_from_the_binaries_found(postgres_server: LocalPostgres, postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as conn:
        version = conn.execute("SELECT version()").fetchone()
        major = conn.execute("SHOW server_version").fetchone()
        database = conn.execute("SELECT current_database()").fetchone()
    assert version and version[0].startswith("PostgreSQL ")
    assert major and major[0].split(".")[0] == postgres_server.bin_dir.parent.name
    assert database and postgres_url.endswith(f"/{database[0]}")
    # As root the server runs as the postgres user (PostgreSQL refuses root), else as ourselves.
    postmaster = int((postgres_server.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    account = postgres_server.account
    if os.geteuid() == 0:
        assert account is not None and account.pw_name == "postgres"
    expected_uid = account.pw_uid if account is not None else os.geteuid()
    assert os.stat(f"/proc/{postmaster}").st_uid == expected_uid != 0


def test_listens_on_127_0_0_1_only_with_its_socket_in_the_temp_dir(postgres_server: LocalPostgres) -> None:
    port = postgres_server.port
    with postgres_server.connect() as admin:
        listen = admin.execute("SHOW listen_addresses").fetchone()
        socket_dirs = admin.execute("SHOW unix_socket_directories").fetchone()
    assert listen == ("127.0.0.1",)
    assert socket_dirs == (str(postgres_server.directory),)
    assert (postgres_server.directory / f".s.PGSQL.{port}").is_socket()
    assert listening_addresses(port) == {"127.0.0.1"}
    # Linux routes all of 127/8 to loopback: a server bound to 0.0.0.0 would answer on 127.0.0.2.
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.2", port), timeout=2).close()


# ----------------------------------------------------------------------------------------------- passwords
def test_a_wrong_or_missing_password_is_refused(
    postgres_server: LocalPostgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PGPASSWORD", raising=False)
    target = make_conninfo(
        host="127.0.0.1",
        port=postgres_server.port,
        user="keyaudit",
        dbname="postgres",
        passfile=str(tmp_path / "no-pgpass"),  # never a developer's ~/.pgpass
    )
    with pytest.raises(psycopg.OperationalError, match='password authentication failed for user "keyaudit"'):
        psycopg.connect(target, password="not-the-password")
    with pytest.raises(psycopg.OperationalError, match="no password supplied"):
        psycopg.connect(target)
    with psycopg.connect(target, password=postgres_server.password) as conn:
        stored = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = current_user").fetchone()
        methods = conn.execute("SELECT DISTINCT auth_method FROM pg_hba_file_rules").fetchall()
    assert stored and stored[0].startswith("SCRAM-SHA-256$")
    assert methods == [("scram-sha-256",)]  # no trust rule, not even on the unix socket


def test_the_password_is_in_no_process_argument_log_or_file(postgres_server: LocalPostgres) -> None:
    password = postgres_server.password
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(postgres_server.url().replace(password, "wrong-password"))
    with postgres_server.connect() as admin:
        assert admin.execute("SELECT 1").fetchone() == (1,)
    log = postgres_server.server_log()
    assert 'password authentication failed for user "keyaudit"' in log  # the real log, with the failure
    assert password not in log and "wrong-password" not in log
    assert password not in repr(postgres_server)
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            arguments = cmdline.read_bytes()
        except OSError:
            continue  # the process ended meanwhile
        assert password.encode() not in arguments, cmdline
    # initdb's password file is gone and the catalogue holds a SCRAM verifier: no plaintext on disk.
    for path in postgres_server.directory.rglob("*"):
        if path.is_file():
            assert password.encode() not in path.read_bytes(), path


# ----------------------------------------------------------------------------------------------- databases
def test_databases_are_isolated(postgres_server: LocalPostgres, postgres_url: str) -> None:
    with postgres_server.database("other") as other_url:
        assert other_url != postgres_url
        with psycopg.connect(postgres_url) as mine, psycopg.connect(other_url) as other:
            mine.execute("CREATE TABLE keys (name text)")
            mine.execute("INSERT INTO keys VALUES ('only-in-mine')")
            mine.commit()
            assert other.execute("SELECT to_regclass('public.keys')").fetchone() == (None,)
            other.execute("CREATE TABLE keys (name text)")  # the same name: no clash
            assert other.execute("SELECT count(*) FROM keys").fetchone() == (0,)
            assert mine.execute("SELECT name FROM keys").fetchall() == [("only-in-mine",)]


def test_a_database_is_dropped_afterwards_even_with_a_connection_left_open(
    postgres_server: LocalPostgres,
) -> None:
    with postgres_server.database("leftover") as url:
        leftover = psycopg.connect(url)
        name = leftover.info.dbname
        assert leftover.execute("SELECT 1").fetchone() == (1,)
    try:
        with postgres_server.connect() as admin:
            assert admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None
        with pytest.raises(psycopg.OperationalError):
            leftover.execute("SELECT 1")  # terminated by the drop
    finally:
        leftover.close()


# ----------------------------------------------------------------------------------------------- binaries
def _fake_server_bin(root: Path, version: str, tools: tuple[str, ...] = ("initdb", "pg_ctl")) -> Path:
    bin_dir = root / version / "bin"
    bin_dir.mkdir(parents=True)
    for tool in tools:
        (bin_dir / tool).touch(mode=0o755)
    return bin_dir


def test_the_newest_major_version_with_server_binaries_is_chosen(tmp_path: Path) -> None:
    _fake_server_bin(tmp_path, "9.6")
    _fake_server_bin(tmp_path, "13")
    newest = _fake_server_bin(tmp_path, "15")
    _fake_server_bin(tmp_path, "16", tools=("psql",))  # client only: no server to start
    assert find_bin_dir(tmp_path) == newest
    assert find_bin_dir(tmp_path / "absent") is None


def test_missing_binaries_fail_naming_the_install_script(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SKIP_ENV, raising=False)
    _fake_server_bin(tmp_path, "15", tools=("psql", "pg_ctl"))
    with pytest.raises(pytest.fail.Exception, match=r"scripts/ensure-postgresql\.sh"):
        require_bin_dir(tmp_path)


def test_the_opt_out_skips_saying_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SKIP_ENV, "1")
    with pytest.raises(pytest.skip.Exception, match=r"KEYAUDIT_SKIP_POSTGRES=1: .* skipped on request"):
        require_bin_dir(tmp_path)
