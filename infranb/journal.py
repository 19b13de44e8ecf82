"""The journal: one record per run that changes an engine, in one SQLite file.

Each record says who ran what, when, from which notebook, against which engine, what the
plan was, what happened step by step, and the prior state of what the run changed (enough
to put it back: ``manager.revert``). The record is written before the first engine call
(outcome ``running``) and completed after; a process that dies in between leaves a
``running`` record that readers on the same host see as ``interrupted``.

Nothing secret is stored: requests are masked as every output is (secret references stay
references, by name). SQLite in WAL mode lets several kernels write at once; the schema
version lives in ``PRAGMA user_version`` and is migrated on open.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import sqlite3
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infranb.core.config import JOURNAL_PATH
from infranb.core.entry import JournalEntry, changes_text
from infranb.core.errors import StackBusy, UnknownRun
from infranb.core.records import ProgressEvent
from infranb.core.secrets import Redactor
from infranb.core.stored import (
    stored_request,
)

if TYPE_CHECKING:
    import pandas as pd

    from infranb.core.result import InfrastructureResult

#: ``stored``'s redactor when none is given: the default markers, no known values
OUTCOMES = ("running", "succeeded", "failed", "rolled back", "interrupted", "refused")
#: the history columns a notebook shows first (the others are one click away)
HISTORY_FIRST = ("started_at", "operation", "stack", "outcome", "changes", "error")
HISTORY_COLUMNS = (
    "run_id",
    "started_at",
    "finished_at",
    "user",
    "host",
    "notebook",
    "engine",
    "operation",
    "stack",
    "outcome",
    "changes",
    "error",
    "correlation_id",
    "archives",
    "plan",
)
#: progress events that are steps worth keeping (layer-by-layer pull progress is not)
STEP_KINDS = frozenset(
    {
        "planned",
        "network_created",
        "volume_created",
        "container_created",
        "container_adopted",
        "container_started",
        "container_ready",
        "container_failed",
        "container_removed",
        "container_stopped",
        "container_restarted",
        "container_updated",
        "copied_in",
        "hook",
        "rollback",
    }
)

# Each entry brings the schema from version i to i + 1; never edit one, append.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        user TEXT, host TEXT, notebook TEXT, process TEXT,
        engine TEXT, engine_id TEXT,
        operation TEXT NOT NULL, stack TEXT,
        outcome TEXT NOT NULL,
        changes TEXT, error TEXT, correlation_id TEXT, reverts TEXT,
        request TEXT, plan TEXT, result TEXT, prior TEXT
    );
    CREATE INDEX runs_by_start ON runs (started_at);
    CREATE INDEX runs_by_stack ON runs (stack, started_at);
    CREATE TABLE steps (
        run_id TEXT NOT NULL, seq INTEGER NOT NULL, at TEXT NOT NULL,
        kind TEXT NOT NULL, resource TEXT, message TEXT,
        PRIMARY KEY (run_id, seq)
    );
    """,
    """
    CREATE TABLE heals (
        engine TEXT NOT NULL, container TEXT NOT NULL, at REAL NOT NULL, run_id TEXT NOT NULL
    );
    CREATE INDEX heals_by_container ON heals (engine, container, at);
    ALTER TABLE runs ADD COLUMN plan_id TEXT;
    ALTER TABLE runs ADD COLUMN approvals TEXT
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


# ---------------------------------------------------------------------- who and where


def current_user() -> str:
    """The JupyterHub user, else the OS user."""
    hub = os.environ.get("JUPYTERHUB_USER")
    if hub:
        return hub
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


def notebook_path() -> str | None:
    """The notebook this kernel runs, where the kernel knows it (Jupyter server >= 2 and
    VS Code tell it, ``INFRANB_NOTEBOOK`` for runners that know it: papermill, nbconvert and
    ``infranb``'s own main job); for a script, the script's path. ``config.notebook`` or a
    run's ``context`` (``notebook`` key or attribute) say it where none of these can."""
    session = os.environ.get("JPY_SESSION_NAME") or os.environ.get("INFRANB_NOTEBOOK")
    if session:
        return session
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is not None:
        names = shell.user_ns
        for key in ("__session__", "__vsc_ipynb_file__"):
            if names.get(key):
                return str(names[key])
        return None
    script = sys.argv[0] if sys.argv else ""
    return os.path.abspath(script) if script and os.path.isfile(script) else None


def _start_time(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot; Linux), to tell a reused pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[19]


def process_token(pid: int | None = None) -> str:
    """``host:pid:start`` of this process: a later reader can tell whether it still runs."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{_start_time(pid) or ''}"


def process_alive(token: str | None) -> bool | None:
    """Whether the process of ``token`` still runs; ``None`` when it ran on another host."""
    if not token:
        return None
    host, _, rest = token.partition(":")
    pid_text, _, started = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    pid = int(pid_text)
    if started:
        return _start_time(pid) == started
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ---------------------------------------------------------------------- masking


# ---------------------------------------------------------------------- records


#: how the journal names a revert's run (its request is the operation it ran)
REVERT = "revert"


@dataclass(frozen=True)
class RunStart:
    """What is known about a run before its first engine call."""

    run_id: str
    operation: str
    stack: str | None
    engine: str
    engine_id: str | None
    request: Mapping[str, Any]
    correlation_id: str | None = None
    reverts: str | None = None
    #: the notebook that ran it, when the caller knows it (else found by ``notebook_path``)
    notebook: str | None = None


def _loads(text: str | None, empty: Any) -> Any:
    return json.loads(text) if text else empty


class Recorder:
    """Writes one run's record: its steps as they happen, its prior state, its end."""

    def __init__(self, journal: Journal, run_id: str) -> None:
        self.journal = journal
        self.run_id = run_id
        self._seq = 0
        self._lock = threading.Lock()

    def step(self, event: ProgressEvent) -> None:
        if event.kind not in STEP_KINDS:
            return
        with self._lock:
            self._seq += 1
            seq = self._seq
        self.journal._write(
            "INSERT INTO steps VALUES (?, ?, ?, ?, ?, ?)",
            (self.run_id, seq, now(), event.kind, event.resource, event.message),
        )

    def prior(self, state: Mapping[str, Any], redact: Redactor | None = None) -> None:
        """The state before the run changed anything. Each container gets the spec it was
        made with, from the stored request of the run that made it (``None`` when that run
        is not in this journal), so the record alone is enough to put it back. A spec the
        state brings (read from a container infranb did not make) is masked as a request
        is, by ``redact``'s markers and values."""
        containers = [dict(c) for c in state.get("containers", [])]
        for c in containers:
            if c.get("spec") is not None:
                c["spec"] = stored_request(c["spec"], redact or Redactor())
        requests = self.journal.requests_of(str(c["run_id"]) for c in containers if c.get("run_id"))
        networks: dict[str, Any] = {}
        volumes: dict[str, Any] = {}
        for c in containers:
            request = requests.get(str(c.get("run_id")), {})
            # A container infranb did not make comes with its spec (read from its inspect).
            c["spec"] = c.get("spec") or next(
                (
                    spec
                    for spec in request.get("containers", [])
                    if isinstance(spec, dict) and spec.get("name") == c["name"]
                ),
                None,
            )
            networks.update(request.get("networks") or {})
            volumes.update(request.get("volumes") or {})
        whole = {**state, "containers": containers, "networks": networks, "volumes": volumes}
        self.journal._write(
            "UPDATE runs SET prior = ? WHERE run_id = ?", (json.dumps(whole), self.run_id)
        )

    def finish(
        self,
        outcome: str,
        *,
        changes: Mapping[str, int],
        error: str | None,
        plan: Sequence[Mapping[str, Any]],
        result: Mapping[str, Any],
        engine_id: str | None = None,
        stack: str | None = None,
    ) -> None:
        """The run's end; ``stack`` fills in a stack known only once the run looked (a
        helper's containers)."""
        self.journal._write(
            "UPDATE runs SET finished_at = ?, outcome = ?, changes = ?, error = ?, plan = ?, "
            "result = ?, engine_id = COALESCE(engine_id, ?), stack = COALESCE(stack, ?) "
            "WHERE run_id = ?",
            (
                now(),
                outcome,
                json.dumps(dict(changes)),
                error,
                json.dumps(list(plan)),
                json.dumps(dict(result)),
                engine_id,
                stack,
                self.run_id,
            ),
        )


class HealCounts:
    """The heal budget of a manager without a journal: counts kept for its lifetime only."""

    def __init__(self) -> None:
        self._times: dict[tuple[str, str], list[float]] = {}
        self._lock = threading.Lock()

    def heals_within(self, engine: str, container: str, seconds: float) -> int:
        since = time.time() - seconds
        with self._lock:
            return sum(1 for t in self._times.get((engine, container), ()) if t >= since)

    def claim_heal(
        self, engine: str, container: str, run_id: str, limit: int, seconds: float
    ) -> int | None:
        with self._lock:
            since = time.time() - seconds
            times = [t for t in self._times.get((engine, container), ()) if t >= since]
            if len(times) >= limit:
                return None
            self._times[(engine, container)] = [*times, time.time()]
            return len(times) + 1


class Journal:
    """The journal file. Opened on first use; safe to share between threads."""

    def __init__(self, path: str | os.PathLike[str] = JOURNAL_PATH) -> None:
        self.path = Path(path).expanduser()
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    # -------------------------------------------------------------- storage

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            # Asked only when not yet WAL: switching takes a lock that a connection opened
            # while another writes would not get ("database is locked").
            (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
            if str(mode).lower() != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # WAL keeps it consistent on a crash
            _migrate(conn)
            conn.row_factory = sqlite3.Row
            self._conn = conn
        return self._conn

    def _write(self, sql: str, params: Sequence[Any]) -> None:
        with self._lock:
            self._connection().execute(sql, params)

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._connection().execute(sql, params))

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -------------------------------------------------------------- writing

    def begin(self, start: RunStart) -> Recorder:
        """Write the ``running`` record of a run (before its first engine call). A run on a
        stack that has another run in progress whose process still runs raises
        ``StackBusy``: the check and the record are one transaction, so two managers sharing
        the journal cannot both start one."""
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                if start.stack:
                    self._refuse_if_busy(conn, start.stack, start.engine)
                self._insert_running(conn, start)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return Recorder(self, start.run_id)

    @staticmethod
    def _refuse_if_busy(conn: sqlite3.Connection, stack: str, engine: str) -> None:
        # per engine: a fleet runs one stack on several engines at once, into one journal
        rows = conn.execute(
            "SELECT run_id, started_at, user, host, operation, process FROM runs "
            "WHERE stack = ? AND engine = ? AND outcome = 'running' ORDER BY started_at",
            (stack, engine),
        ).fetchall()
        for row in rows:
            # A record whose process is gone was interrupted: it holds nothing.
            if process_alive(row["process"]) is True:
                raise StackBusy(
                    f"stack {stack} on {engine} has a run in progress ({row['operation']}, run "
                    f"{row['run_id']}, started {row['started_at']} by {row['user']} on "
                    f"{row['host']}); nothing was touched: run this once it has ended "
                    f"(history(stack={stack!r}) shows it)",
                    run_id=str(row["run_id"]),
                )

    def busy_stacks(self, engine: str, but: str | None = None) -> dict[str, str]:
        """The stacks on ``engine`` with a run in progress (its process alive), other than run
        ``but``: stack -> "operation, run <id>"."""
        rows = self._read(
            "SELECT run_id, operation, stack, process FROM runs WHERE engine = ? AND "
            "outcome = 'running' AND stack IS NOT NULL",
            (engine,),
        )
        return {
            str(r["stack"]): f"{r['operation']}, run {r['run_id']}"
            for r in rows
            if r["run_id"] != but and process_alive(r["process"]) is True
        }

    def heals_within(self, engine: str, container: str, seconds: float) -> int:
        """How many times infranb healed ``container`` on ``engine`` in the last ``seconds``."""
        (count,) = self._read(
            "SELECT COUNT(*) FROM heals WHERE engine = ? AND container = ? AND at >= ?",
            (engine, container, time.time() - seconds),
        )[0]
        return int(count)

    def claim_heal(
        self, engine: str, container: str, run_id: str, limit: int, seconds: float
    ) -> int | None:
        """Record one heal of ``container`` unless it had ``limit`` within ``seconds``: its
        number in the window, or None (over budget). Count and record are one transaction,
        so two managers sharing the journal cannot both pass the budget."""
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                (count,) = conn.execute(
                    "SELECT COUNT(*) FROM heals WHERE engine = ? AND container = ? AND at >= ?",
                    (engine, container, time.time() - seconds),
                ).fetchone()
                if count >= limit:
                    conn.execute("ROLLBACK")
                    return None
                conn.execute(
                    "INSERT INTO heals VALUES (?, ?, ?, ?)",
                    (engine, container, time.time(), run_id),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return int(count) + 1

    def mark_plan(self, run_id: str, plan_id: str, approvals: Sequence[Mapping[str, Any]]) -> None:
        """Name the saved plan a run applies, and its approvals."""
        self._write(
            "UPDATE runs SET plan_id = ?, approvals = ? WHERE run_id = ?",
            (plan_id, json.dumps([dict(a) for a in approvals]), run_id),
        )

    @staticmethod
    def _insert_running(conn: sqlite3.Connection, start: RunStart) -> None:
        conn.execute(
            "INSERT INTO runs (run_id, started_at, user, host, notebook, process, engine, "
            "engine_id, operation, stack, outcome, correlation_id, reverts, request) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)",
            (
                start.run_id,
                now(),
                current_user(),
                socket.gethostname(),
                start.notebook or notebook_path(),
                process_token(),
                start.engine,
                start.engine_id,
                start.operation,
                start.stack,
                start.correlation_id,
                start.reverts,
                json.dumps(dict(start.request)),
            ),
        )

    # -------------------------------------------------------------- reading

    def _settle(self, rows: Iterable[sqlite3.Row]) -> dict[str, str]:
        """Outcomes of ``running`` records whose process is gone: ``interrupted`` (written
        back, so readers elsewhere see it too)."""
        settled = {}
        for row in rows:
            if row["outcome"] == "running" and process_alive(row["process"]) is False:
                settled[row["run_id"]] = "interrupted"
                self._write(
                    "UPDATE runs SET outcome = 'interrupted' WHERE run_id = ? "
                    "AND outcome = 'running'",
                    (row["run_id"],),
                )
        return settled

    def history(
        self,
        stack: str | None = None,
        since: str | datetime | None = None,
        operation: str | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """The runs, newest first, as a DataFrame (``HISTORY_COLUMNS``)."""
        import pandas as pd

        where, params = _filters(stack, since, operation)
        sql = (
            "SELECT run_id, started_at, finished_at, user, host, notebook, engine, operation, "
            f"stack, outcome, changes, error, correlation_id, plan_id, approvals, result, "
            f"process FROM runs{where} "
            "ORDER BY started_at DESC"
        )
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        rows = self._read(sql, params)
        settled = self._settle(r for r in rows if r["outcome"] == "running")
        frame = pd.DataFrame(
            [
                (*tuple(r)[:13], _archives_of(r["result"]), _plan_of(r["plan_id"], r["approvals"]))
                for r in rows
            ],
            columns=list(HISTORY_COLUMNS),
            dtype="object",
        )
        for column in ("started_at", "finished_at"):
            frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
        if settled:
            frame["outcome"] = [
                settled.get(r, o) for r, o in zip(frame.run_id, frame.outcome, strict=True)
            ]
        frame["changes"] = [changes_text(_loads(c, {})) for c in frame["changes"]]
        for column in HISTORY_COLUMNS:
            if column not in ("started_at", "finished_at"):
                frame[column] = frame[column].astype("string")
        from infranb.core.textframe import shown

        return shown(frame, HISTORY_FIRST)

    def entry(self, run_id: str) -> JournalEntry:
        """One run's whole record; ``UnknownRun`` (a ``NotFound``, and a ``KeyError``)
        naming the run when there is none."""
        rows = self._read("SELECT * FROM runs WHERE run_id = ?", (run_id,))
        if not rows:
            raise UnknownRun(
                f"no run {run_id!r} in the journal {self.path}: manager.history() lists the "
                "runs it holds",
                resource=run_id,
            )
        row = rows[0]
        outcome = self._settle(rows).get(run_id, row["outcome"])
        steps = self._read(
            "SELECT seq, at, kind, resource, message FROM steps WHERE run_id = ? ORDER BY seq",
            (run_id,),
        )
        return JournalEntry(
            run_id=row["run_id"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            user=row["user"],
            host=row["host"],
            notebook=row["notebook"],
            engine=row["engine"],
            engine_id=row["engine_id"],
            operation=row["operation"],
            stack=row["stack"],
            outcome=outcome,
            changes=_loads(row["changes"], {}),
            error=row["error"],
            correlation_id=row["correlation_id"],
            reverts=row["reverts"],
            request=_loads(row["request"], {}),
            plan=_loads(row["plan"], []),
            result=_loads(row["result"], {}),
            prior=_loads(row["prior"], {}),
            steps=[dict(s) for s in steps],
        )

    def requests_of(self, run_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The stored requests of these runs, by run id (runs not in the journal left out)."""
        ids = sorted(set(run_ids))
        if not ids:
            return {}
        marks = ", ".join("?" * len(ids))
        rows = self._read(f"SELECT run_id, request FROM runs WHERE run_id IN ({marks})", ids)
        return {r["run_id"]: _loads(r["request"], {}) for r in rows}

    def last_request(self, stack: str) -> dict[str, Any] | None:
        """The stored request of the last run on ``stack`` that succeeded and is a stack's
        desired state (an operation of the table that says so: orchestrate)."""
        names = _desired_state_operations()
        marks = ", ".join("?" * len(names))
        # A revert of such a run puts a desired state back: its request is one too.
        rows = self._read(
            f"SELECT request FROM runs WHERE stack = ? AND (operation IN ({marks}) OR "
            f"(operation = ? AND json_extract(request, '$.operation') IN ({marks}))) "
            "AND outcome = 'succeeded' ORDER BY started_at DESC LIMIT 1",
            (stack, *names, REVERT, *names),
        )
        return _loads(rows[0]["request"], {}) if rows else None

    def later_runs(self, stack: str, after: str) -> list[str]:
        """Runs on ``stack`` that started after ``after`` (a run's started_at)."""
        rows = self._read(
            "SELECT run_id FROM runs WHERE stack = ? AND started_at > ? AND outcome != 'refused' "
            "ORDER BY started_at",
            (stack, after),
        )
        return [r["run_id"] for r in rows]


def _filters(
    stack: str | None, since: str | datetime | None, operation: str | None
) -> tuple[str, list[Any]]:
    """The WHERE clause of a history query and its parameters."""
    clauses, params = [], []
    if stack is not None:
        clauses.append("stack = ?")
        params.append(stack)
    if operation is not None:
        clauses.append("operation = ?")
        params.append(operation)
    if since is not None:
        moment = since if isinstance(since, datetime) else datetime.fromisoformat(str(since))
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        clauses.append("started_at >= ?")
        params.append(moment.astimezone(UTC).isoformat(timespec="microseconds"))
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring the file's schema to ``SCHEMA_VERSION`` (one writer at a time does it)."""
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version >= SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        (version,) = conn.execute("PRAGMA user_version").fetchone()  # another kernel may have
        for step in MIGRATIONS[version:]:
            for statement in filter(str.strip, step.split(";")):
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


# ---------------------------------------------------------------------- results


def run_outcome(result: InfrastructureResult) -> str:
    """How a finished run is journaled."""
    if result.success:
        return "succeeded"
    if result.refused:
        return "refused"
    return "rolled back" if result.rolled_back else "failed"


def change_counts(result: InfrastructureResult) -> dict[str, int]:
    """What a run changed, counted by action ("create 2", "remove container 1")."""
    counts: dict[str, int] = {}

    def add(key: str) -> None:
        counts[key] = counts.get(key, 0) + 1

    if result.dry_run or result.rolled_back or result.refused:
        return counts
    for c in result.containers:
        if c.action != "unchanged":
            add(c.action)
    for r in result.removed:
        add(f"remove {r.kind}")
    for i in result.images:
        add(i.action)
    for _ in result.networks_created:
        add("create network")
    for _ in result.volumes_created:
        add("create volume")
    for s in result.services:
        if s.action != "unchanged":
            add(f"{s.action} service")
    for _ in {u.container for u in result.updated}:
        add("update")
    for _ in result.copied:
        add("copy in")
    for a in result.archives:
        add(a.action)
    return counts


def _plan_of(plan_id: str | None, approvals: str | None) -> str | None:
    """The saved plan a run applied, and who approved it: "a1b2c3d4e5f6 approved by ann"."""
    if not plan_id:
        return None
    by = [str(a.get("by")) for a in _loads(approvals, []) if isinstance(a, dict)]
    return f"plan {plan_id}, " + (f"approved by {', '.join(by)}" if by else "with no approval")


def _archives_of(result: str | None) -> str | None:
    """The archives a run wrote or restored, from its stored result: "action volume: path"."""
    held = _loads(result, {}).get("archives") or []
    return "; ".join(f"{a['action']} {a['volume']}: {a['archive']}" for a in held) or None


def result_summary(result: InfrastructureResult) -> dict[str, Any]:
    """The part of a result the journal keeps (secret values are masked by the caller)."""
    return {
        "success": result.success,
        "error": result.error,
        "rolled_back": result.rolled_back,
        "containers": [
            {"name": c.name, "action": c.action, "state": c.state, "id": c.container_id}
            for c in result.containers
        ],
        "containers_removed": list(result.containers_removed),
        "images": [
            {"reference": i.reference, "action": i.action, "id": i.image_id} for i in result.images
        ],
        "removed": [{"kind": r.kind, "name": r.name, "id": r.id} for r in result.removed],
        "networks_created": list(result.networks_created),
        "volumes_created": list(result.volumes_created),
        # where each backup, snapshot or restore's archive is, and its checksum: never
        # what it holds
        "archives": [
            {"volume": a.volume, "action": a.action, "archive": a.archive, "sha256": a.sha256}
            for a in result.archives
        ],
        # what a heal did to each container (its evidence is the run's prior state)
        "healed": [
            {
                "name": h.name,
                "before": h.state_before,
                "action": h.action,
                "health_after": h.health_after,
                "seconds": h.seconds,
            }
            for h in result.healed
        ],
        "warnings": list(result.warnings),
        "duration_seconds": result.duration_seconds,
    }


# ---------------------------------------------------------------------- revert


# ---------------------------------------------------------------------- the audit report


def report(
    path: str | os.PathLike[str],
    since: str | datetime | None = None,
    *,
    journal: str | os.PathLike[str] | Journal = JOURNAL_PATH,
    stack: str | None = None,
) -> Path:
    """Write a self-contained HTML audit report of the journal's runs (offline: no scripts,
    no remote assets) and return its path."""
    from infranb.notebook.html import audit_page

    book = journal if isinstance(journal, Journal) else Journal(journal)
    frame = book.history(stack=stack, since=since)
    scope = f"since {since}" if since is not None else "all runs"
    out = Path(path)
    out.write_text(
        audit_page(frame, journal=str(book.path), scope=scope, stack=stack, written=now())
    )
    return out


def _desired_state_operations() -> list[str]:
    """The operations whose requests are a stack's desired state, as the table says."""
    from infranb.ops.table import OPERATIONS

    return [name for name, op in OPERATIONS.items() if op.desired_state]
