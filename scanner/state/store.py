"""The state store: run history and finding state in SQLite (default) or PostgreSQL (a team's shared history).

Opening a store checks its schema version (Alembic revision) before any work: an older store is migrated
forward under the scan lock, a store written by a newer keyaudit (or a database that is not a keyaudit
store) is refused with exit 2 naming it. Passwords in PostgreSQL URLs never appear in messages or logs.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scanner.errors import InputError, RuntimeFailure
from scanner.logs import get_logger
from scanner.state import tables
from scanner.state.lock import FileLock, Holder, StateLocked, locked_message, wait_loop
from scanner.state.tracker import KnownFinding, Tracker

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Connection, Engine

STATE_ENV = "KEYAUDIT_STATE"
_ADVISORY_KEY = 0x6B65_7961_7564_6974 >> 1  # "keyaudit", kept within a signed bigint
_LOCK_NAME = "scan"
_MIGRATE_KEY = _ADVISORY_KEY - 1
_BATCH = 5000


def default_state_path() -> Path:
    from platformdirs import user_data_path

    return user_data_path("keyaudit", appauthor=False) / "state.db"


@dataclass(frozen=True)
class StateTarget:
    """Where the state lives, parsed from ``--state``: a file path, ``sqlite:///...`` or ``postgresql://...``."""

    url: URL
    display: str  # for messages: the path, or the URL without its password
    sqlite_path: Path | None

    @classmethod
    def parse(cls, value: str | os.PathLike[str]) -> StateTarget:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        text = os.fspath(value)
        if "://" not in text:
            path = Path(text).expanduser()
            return cls(url=make_url(f"sqlite:///{path}"), display=str(path), sqlite_path=path)
        try:
            url = make_url(text)
        except ArgumentError as exc:
            raise InputError(f"--state {_hide_password(text)}: not a valid database URL ({exc})") from None
        backend = url.get_backend_name()
        if backend == "sqlite":
            if not url.database or url.database == ":memory:":
                raise InputError("--state sqlite://: give a file, e.g. sqlite:////var/lib/keyaudit/state.db")
            path = Path(url.database).expanduser()
            return cls(url=url.set(database=str(path)), display=str(path), sqlite_path=path)
        if backend in ("postgresql", "postgres"):
            # psycopg 3 is the driver keyaudit ships; a bare postgresql:// would ask for psycopg2.
            url = url.set(drivername="postgresql+psycopg")
            return cls(url=url, display=url.render_as_string(hide_password=True), sqlite_path=None)
        raise InputError(
            f"--state {url.render_as_string(hide_password=True)}: unsupported database '{backend}'; "
            "use a SQLite file path or postgresql://USER@HOST/DB"
        )


def _hide_password(text: str) -> str:
    scheme, sep, rest = text.partition("://")
    creds, at, host = rest.rpartition("@")
    if not at or ":" not in creds:
        return text
    return f"{scheme}{sep}{creds.split(':', 1)[0]}:***@{host}"


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    mode: str
    started_at: datetime
    finished_at: datetime
    exit_code: int
    providers: Sequence[str] = ()
    scopes: Sequence[dict[str, Any]] = ()
    coverage: Sequence[dict[str, Any]] = ()
    summary: dict[str, Any] | None = None
    policy_sha256: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class RunInfo:
    seq: int
    run_id: str
    mode: str
    tool_version: str
    started_at: datetime
    finished_at: datetime
    exit_code: int
    error: str | None
    providers: list[str]
    scopes: list[dict[str, Any]]
    coverage: list[dict[str, Any]]
    summary: dict[str, Any] | None
    changes: dict[str, int]

    @property
    def completed(self) -> bool:
        return self.exit_code in (0, 3)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "mode": self.mode,
            "tool_version": self.tool_version,
            "started_at": iso_utc(self.started_at),
            "finished_at": iso_utc(self.finished_at),
            "exit_code": self.exit_code,
            "completed": self.completed,
            "error": self.error,
            "providers": self.providers,
            "scopes": self.scopes,
            "coverage_gaps": len(self.coverage),
            "summary": self.summary,
            "changes": self.changes,
        }


@dataclass
class StateStore:
    target: StateTarget
    _lock_files: list[FileLock] = field(default_factory=list)
    _lane: str | None = None
    _lock_conn: Connection | None = None
    _holder: Holder | None = field(default=None, repr=False)

    @cached_property
    def engine(self) -> Engine:
        from sqlalchemy import create_engine, event

        if self.target.sqlite_path is not None:
            engine = create_engine(self.target.url)

            @event.listens_for(engine, "connect")
            def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
                cursor = dbapi_conn.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")  # `history` reads while a scan writes
                cursor.execute("PRAGMA busy_timeout=30000")
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.close()

            return engine
        return create_engine(self.target.url, pool_pre_ping=True, connect_args={"connect_timeout": 15})

    # ------------------------------------------------------------------ opening, schema, lock
    @classmethod
    def open(cls, target: StateTarget) -> StateStore:
        store = cls(target)
        if target.sqlite_path is not None:
            try:
                target.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise InputError(f"--state {target.display}: cannot create its directory ({exc})") from None
        return store

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """Database errors as keyaudit errors naming the store, never with a password or a traceback."""
        from sqlalchemy.exc import DatabaseError, OperationalError

        try:
            yield
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            raise RuntimeFailure(f"state store {self.target.display}: {reason}") from None
        except DatabaseError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            raise InputError(
                f"--state {self.target.display}: not a usable keyaudit state store ({reason})"
            ) from None

    def _alembic_config(self, connection: Connection) -> Any:
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", "scanner.state:migrations")
        config.attributes["connection"] = connection
        return config

    def schema_status(self) -> tuple[str | None, str]:
        """(the store's revision or None when empty, the newest revision this keyaudit knows)."""
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory
        from sqlalchemy import inspect

        with self._errors(), self.engine.connect() as connection:
            head = ScriptDirectory.from_config(self._alembic_config(connection)).get_current_head()
            assert head is not None
            current = MigrationContext.configure(connection).get_current_revision()
            if current is None and inspect(connection).get_table_names():
                raise InputError(
                    f"--state {self.target.display}: the database holds tables but is not a keyaudit "
                    "state store (no schema version); give an empty database or a new file"
                )
        return current, head

    def check_schema(self, *, migrate: bool) -> None:
        """Refuse a store newer than this keyaudit; migrate an older (or empty) one when ``migrate``."""
        from alembic import command
        from alembic.script import ScriptDirectory

        current, head = self.schema_status()
        if current == head:
            return
        with self._errors(), self.engine.connect() as connection:
            known = {
                script.revision
                for script in ScriptDirectory.from_config(self._alembic_config(connection)).walk_revisions()
            }
        if current is not None and current not in known:
            raise InputError(
                f"--state {self.target.display}: written by a newer keyaudit (schema {current}; this "
                f"version knows up to {head}); upgrade keyaudit or use another --state"
            )
        if not migrate:
            if current is None:
                raise InputError(f"--state {self.target.display}: no keyaudit history recorded there yet")
            raise InputError(
                f"--state {self.target.display}: schema {current} is older than {head}; the next scan "
                "with this --state upgrades it"
            )
        get_logger().info("state.migrate", store=self.target.display, from_revision=current, to_revision=head)
        with self._errors(), self.engine.begin() as connection:
            command.upgrade(self._alembic_config(connection), "head")

    def acquire(self, holder: Holder, *, wait: bool, timeout: float | None, lane: str | None = None) -> None:
        """Take the scan lock, then migrate the schema. Raises StateLocked.

        Without ``lane`` the run holds the whole store. A shard (``lane`` "I/N") holds the store shared and
        its own lane exclusively: shards of one scan run side by side, the same shard twice does not, and
        an unsharded scan waits for (or is refused by) all of them.
        """
        self._holder = holder
        self._lane = lane
        if self.target.sqlite_path is not None:
            self._acquire_sqlite(self.target.sqlite_path, holder, wait=wait, timeout=timeout, lane=lane)
        else:
            self._acquire_postgresql(holder, wait=wait, timeout=timeout, lane=lane)

    def _acquire_sqlite(
        self, path: Path, holder: Holder, *, wait: bool, timeout: float | None, lane: str | None
    ) -> None:
        log = get_logger()
        base = path.with_name(path.name + ".lock")
        locks = [FileLock(base, shared=lane is not None)]
        if lane:
            locks.append(FileLock(base.with_name(base.name + "." + lane.replace("/", "-of-"))))
        record = locks[-1]

        def try_all() -> bool:
            for index, lock in enumerate(locks):
                if not lock.try_acquire():
                    for taken in locks[:index]:
                        taken.release()
                    return False
            return True

        try:
            waited = wait_loop(
                try_all,
                wait=wait,
                timeout=timeout,
                on_wait=lambda: log.info(
                    "state.lock.waiting",
                    store=self.target.display,
                    holder=_describe(record.read_holder()),
                ),
            )
        except TimeoutError as exc:
            waited_s = float(exc.args[0]) if wait else None
            raise StateLocked(
                locked_message(self.target.display, record.read_holder(), waited=waited_s)
            ) from None
        self._lock_files = locks
        self._report_stale(record.read_holder(), waited)
        record.write_holder(holder)
        # Shards hold the store shared: one at a time may check (and migrate) the schema.
        guard = FileLock(base.with_name(base.name + ".migrate"))
        wait_loop(guard.try_acquire, wait=True, timeout=None, on_wait=lambda: None, poll=0.1)
        try:
            self.check_schema(migrate=True)
        finally:
            guard.release()

    def _acquire_postgresql(
        self, holder: Holder, *, wait: bool, timeout: float | None, lane: str | None
    ) -> None:
        log = get_logger()
        name = f"shard {lane}" if lane else _LOCK_NAME
        with self._errors():
            conn = self.engine.connect()
        self._lock_conn = conn
        try:
            waited = wait_loop(
                lambda: self._try_advisory(conn, lane),
                wait=wait,
                timeout=timeout,
                on_wait=lambda: log.info(
                    "state.lock.waiting", store=self.target.display, holder=_describe(self._pg_holder(name))
                ),
            )
        except TimeoutError as exc:
            self._close_lock_conn()
            waited_s = float(exc.args[0]) if wait else None
            raise StateLocked(
                locked_message(self.target.display, self._pg_holder(name), waited=waited_s)
            ) from None
        except BaseException:
            self._close_lock_conn()
            raise
        from sqlalchemy import text

        with self._errors():  # one process at a time checks (and migrates) the schema
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATE_KEY})
            conn.commit()
        try:
            self.check_schema(migrate=True)
        finally:
            with self._errors():
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATE_KEY})
                conn.commit()
        self._report_stale(self._pg_holder(name), waited)
        self._set_pg_holder(holder, name)

    def _try_advisory(self, conn: Connection, lane: str | None) -> bool:
        from sqlalchemy import text

        with self._errors():
            if lane is None:
                got = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": _ADVISORY_KEY}).scalar()
            else:
                got = conn.execute(
                    text("SELECT pg_try_advisory_lock_shared(:key)"), {"key": _ADVISORY_KEY}
                ).scalar()
                if got:
                    got = conn.execute(
                        text("SELECT pg_try_advisory_lock(:key)"), {"key": _lane_key(lane)}
                    ).scalar()
                    if not got:
                        conn.execute(text("SELECT pg_advisory_unlock_shared(:key)"), {"key": _ADVISORY_KEY})
            conn.commit()
        return bool(got)

    def _pg_holder(self, name: str = _LOCK_NAME) -> Holder | None:
        from sqlalchemy import inspect, select

        with contextlib.suppress(Exception), self.engine.connect() as connection:
            if "lock_holder" not in inspect(connection).get_table_names():
                return None
            row = connection.execute(
                select(tables.lock_holder).where(tables.lock_holder.c.name == name)
            ).first()
            if row is not None:
                return Holder.from_dict(dict(row._mapping))
        return None

    def _set_pg_holder(self, holder: Holder | None, name: str = _LOCK_NAME) -> None:
        with self._errors(), self.engine.begin() as connection:
            connection.execute(tables.lock_holder.delete().where(tables.lock_holder.c.name == name))
            if holder is not None:
                connection.execute(tables.lock_holder.insert().values(name=name, **holder.to_dict_db()))

    def _report_stale(self, previous: Holder | None, waited: float | None) -> None:
        if previous is None:
            return
        alive = previous.alive()
        get_logger().warning(
            "state.lock.stale",
            store=self.target.display,
            previous_holder=previous.describe(),
            previous_alive=alive,
            message="the previous run ended without releasing the lock (killed?); its lock is taken over",
        )

    def _close_lock_conn(self) -> None:
        if self._lock_conn is not None:
            with contextlib.suppress(Exception):
                self._lock_conn.close()
            self._lock_conn = None

    def release(self) -> None:
        for lock in reversed(self._lock_files):
            lock.release()
        self._lock_files = []
        if self._lock_conn is not None:
            with contextlib.suppress(Exception):
                self._set_pg_holder(None, f"shard {self._lane}" if self._lane else _LOCK_NAME)
            self._close_lock_conn()  # the session's advisory locks end with it

    def close(self) -> None:
        self.release()
        if "engine" in self.__dict__:
            self.engine.dispose()

    # ------------------------------------------------------------------ recording a run
    def known_findings(self) -> dict[str, KnownFinding]:
        from sqlalchemy import select

        f = tables.findings
        with self._errors(), self.engine.connect() as connection:
            result = connection.execute(select(f).execution_options(yield_per=_BATCH))
            return {row.finding_id: _known(row) for row in result}

    def record(self, run: RunRecord, tracker: Tracker | None) -> int:
        """Writes the run (and, when it judged findings, their state) in one transaction; its seq."""
        from sqlalchemy import bindparam

        from scanner import __version__

        with self._errors(), self.engine.begin() as connection:
            seq = connection.execute(
                tables.runs.insert().values(
                    run_id=run.run_id,
                    mode=run.mode,
                    tool_version=__version__,
                    started_at=_db_time(run.started_at),
                    finished_at=_db_time(run.finished_at),
                    exit_code=run.exit_code,
                    error=run.error,
                    providers=list(run.providers),
                    scopes=list(run.scopes),
                    coverage=list(run.coverage),
                    summary=run.summary,
                    changes=tracker.report() if tracker else {},
                    policy_sha256=run.policy_sha256,
                )
            ).inserted_primary_key
            assert seq is not None
            seq = seq[0]
            if tracker is None:
                return int(seq)
            observed = _db_time(tracker.observed_at)
            fresh = [
                {
                    "finding_id": f.finding_id,
                    "rule_id": f.rule_id,
                    "title": f.title,
                    "severity": f.severity.value,
                    "provider": f.provider,
                    "scope": f.scope,
                    "location": f.location,
                    "resource_uid": f.resource.uid,
                    "resource_type": f.resource.type,
                    "resource_name": f.resource.name,
                    "status": f.status.value,
                    "is_open": True,
                    "first_seen": observed,
                    "last_seen": observed,
                    "last_run_seq": seq,
                }
                for f in tracker.fresh
            ]
            insert_new = _insert_ignoring_duplicates(connection, tables.findings)
            for chunk in _chunks(fresh):
                connection.execute(insert_new, chunk)
            f = tables.findings
            reopened = [
                {"fid": x.finding_id, "status": x.status.value, "open": True, "seen": observed, "seq": seq}
                for x, is_open in tracker.updated
                if is_open
            ]
            closed = [
                {"fid": x.finding_id, "status": x.status.value, "open": False, "seq": seq}
                for x, is_open in tracker.updated
                if not is_open
            ]
            still = (
                f.update()
                .where(f.c.finding_id == bindparam("fid"))
                .values(
                    status=bindparam("status"),
                    is_open=bindparam("open"),
                    last_seen=bindparam("seen"),
                    last_run_seq=bindparam("seq"),
                )
            )
            gone = (
                f.update()
                .where(f.c.finding_id == bindparam("fid"))
                .values(status=bindparam("status"), is_open=bindparam("open"), last_run_seq=bindparam("seq"))
            )
            for chunk in _chunks(reopened):
                connection.execute(still, chunk)
            for chunk in _chunks(closed):
                connection.execute(gone, chunk)
            rows = [
                {
                    "run_seq": seq,
                    "finding_id": r.finding_id,
                    "status": r.status,
                    "change": r.change,
                    "is_open": r.is_open,
                    "waived": r.waived,
                }
                for r in tracker.rows
            ]
            for chunk in _chunks(rows):
                connection.execute(tables.run_findings.insert(), chunk)
        return int(seq)

    # ------------------------------------------------------------------ reading history
    def runs(self, limit: int | None = None) -> list[RunInfo]:
        from sqlalchemy import select

        query = select(tables.runs).order_by(tables.runs.c.seq.desc())
        if limit is not None:
            query = query.limit(limit)
        with self._errors(), self.engine.connect() as connection:
            return [_run_info(row) for row in connection.execute(query)]

    def find_run(self, reference: str) -> RunInfo:
        """A run by id, unique id prefix, or date/time (the last run started at or before it)."""
        from sqlalchemy import select

        r = tables.runs
        with self._errors(), self.engine.connect() as connection:
            rows = connection.execute(select(r).where(r.c.run_id.startswith(reference)).limit(2)).all()
            if len(rows) == 1:
                return _run_info(rows[0])
            if len(rows) > 1:
                raise InputError(f"--since {reference}: several runs start with this id; give more of it")
            moment = _parse_moment(reference)
            if moment is not None:
                row = connection.execute(
                    select(r).where(r.c.started_at <= _db_time(moment)).order_by(r.c.seq.desc()).limit(1)
                ).first()
                if row is not None:
                    return _run_info(row)
        raise InputError(
            f"--since {reference}: no such run in {self.target.display} (see `keyaudit history`)"
        )

    def open_after(self, run: RunInfo) -> set[str]:
        from sqlalchemy import select

        rf = tables.run_findings
        with self._errors(), self.engine.connect() as connection:
            query = select(rf.c.finding_id).where(rf.c.run_seq == run.seq, rf.c.is_open.is_(True))
            return set(connection.execute(query).scalars())

    def describe(self, finding_ids: Iterable[str]) -> list[KnownFinding]:
        from sqlalchemy import select

        wanted = sorted(finding_ids)
        found: list[KnownFinding] = []
        f = tables.findings
        with self._errors(), self.engine.connect() as connection:
            for start in range(0, len(wanted), 900):  # SQLite's bound-parameter limit
                chunk = wanted[start : start + 900]
                for row in connection.execute(select(f).where(f.c.finding_id.in_(chunk))):
                    found.append(_known(row))
        return found

    def last_success_at(self) -> datetime | None:
        from sqlalchemy import func, select

        r = tables.runs
        with self._errors(), self.engine.connect() as connection:
            value = connection.execute(
                select(func.max(r.c.finished_at)).where(r.c.exit_code.in_((0, 3)))
            ).scalar()
        return _utc(value) if value is not None else None


def _insert_ignoring_duplicates(connection: Connection, table: Any) -> Any:
    """INSERT that leaves an existing row alone: shards recording side by side may both see a finding
    (about the policy document, say) as new; the first one's record stands."""
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing()


def _lane_key(lane: str) -> int:
    """A shard's own advisory lock key (a signed 63-bit integer derived from the lane)."""
    import hashlib

    return int.from_bytes(hashlib.sha256(f"keyaudit lane {lane}".encode()).digest()[:8], "big") >> 1


def _describe(holder: Holder | None) -> str | None:
    return holder.describe() if holder else None


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), _BATCH):
        yield rows[start : start + _BATCH]


def _db_time(moment: datetime) -> datetime:
    """UTC, as every row stores it (SQLite keeps no zone: reading attaches UTC again)."""
    return moment.astimezone(UTC)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def iso_utc(moment: datetime) -> str:
    return _utc(moment).isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse_moment(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if len(text) == 10:  # a date: the whole day counts
        moment = moment.replace(hour=23, minute=59, second=59)
    return moment


def _known(row: Any) -> KnownFinding:
    return KnownFinding(
        finding_id=row.finding_id,
        rule_id=row.rule_id,
        title=row.title,
        severity=row.severity,
        provider=row.provider,
        scope=row.scope,
        location=row.location,
        resource_uid=row.resource_uid,
        resource_type=row.resource_type,
        resource_name=row.resource_name,
        is_open=bool(row.is_open),
        first_seen=_utc(row.first_seen),
        last_seen=_utc(row.last_seen),
    )


def _run_info(row: Any) -> RunInfo:
    return RunInfo(
        seq=row.seq,
        run_id=row.run_id,
        mode=row.mode,
        tool_version=row.tool_version,
        started_at=_utc(row.started_at),
        finished_at=_utc(row.finished_at),
        exit_code=row.exit_code,
        error=row.error,
        providers=list(row.providers or ()),
        scopes=list(row.scopes or ()),
        coverage=list(row.coverage or ()),
        summary=row.summary,
        changes=dict(row.changes or {}),
    )
