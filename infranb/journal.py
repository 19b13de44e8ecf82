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
import html
import json
import os
import socket
import sqlite3
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infranb.core.config import JOURNAL_PATH
from infranb.core.errors import UnknownRun
from infranb.core.labels import RESERVED_PREFIXES
from infranb.core.records import ProgressEvent
from infranb.core.secrets import MASK, Redactor, SecretRef, masked_files

if TYPE_CHECKING:
    import pandas as pd

    from infranb.core.request import InfrastructureOperation
    from infranb.core.result import InfrastructureResult

#: ``stored``'s redactor when none is given: the default markers, no known values
_NOTHING_KNOWN = Redactor()
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


#: request fields that hold identifiers (names, images, paths, addresses): stored as written,
#: whatever secret they happen to spell (masking goes by role, never by coincidence)
IDENTIFIER_FIELDS = frozenset(
    {
        "name", "service", "image", "stack", "networks", "volumes", "hostname", "domainname",
        "container_name", "project_dir", "config_files", "working_dir", "key", "depends_on",
        "network_mode", "platform", "user", "extra_hosts", "dns", "dns_search", "tmpfs",
        "ports", "expose", "devices", "tag", "path", "dockerfile", "target", "operation",
        "container_number", "aliases", "ipv4_address", "ipv6_address", "id", "container_id",
    }
)  # fmt: skip


def stored(value: Any, redact: Redactor = _NOTHING_KNOWN) -> Any:
    """``value`` as the journal may keep it: JSON-ready, values under secret keys (by the
    redactor's markers) and known secret values masked, secret references kept by name
    (``{"$secret": "env", "name": ...}``) so a revert re-reads them. Identifier fields
    (``IDENTIFIER_FIELDS``) and the labels infranb and Compose set are kept as written."""
    if isinstance(value, SecretRef):
        return _reference(value)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if redact.is_secret_key(str(key)) and isinstance(item, str | int | float | bytes):
                out[str(key)] = MASK
            elif str(key) in IDENTIFIER_FIELDS:
                out[str(key)] = _as_json(item)
            elif str(key) == "files" and isinstance(item, Mapping):
                out[str(key)] = stored(masked_files(item), redact)
            elif str(key) == "labels" and isinstance(item, Mapping):
                out[str(key)] = {
                    str(k): _as_json(v)
                    if str(k).startswith(RESERVED_PREFIXES)
                    else stored(v, redact)
                    for k, v in item.items()
                }
            else:
                out[str(key)] = stored(item, redact)
        return out
    if isinstance(value, list | tuple | set | frozenset):
        return [stored(item, redact) for item in value]
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(str(value))


def _reference(ref: SecretRef) -> dict[str, Any]:
    """A secret reference as stored: where to read it again, never its value."""
    found: dict[str, Any] = {"$secret": ref.source, "name": ref.name}
    if ref.file is not None:
        found["file"] = ref.file
    return found


def _as_json(value: Any) -> Any:
    """An identifier field as JSON: as written (a secret reference inside still by name)."""
    if isinstance(value, SecretRef):
        return _reference(value)
    if isinstance(value, Mapping):
        return {str(k): _as_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_as_json(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def stored_request(fields: Mapping[str, Any], redact: Redactor) -> dict[str, Any]:
    """A request's fields as stored: every value under a secret-looking key masked (in
    ``KEY=VALUE`` lists too), and those values masked wherever else they appear (a command
    that echoes a password)."""
    found = _secret_values_in(fields, redact)
    return stored(_mask_env_lists(fields, redact), redact.extend(found))


def _secret_values_in(value: Any, redact: Redactor) -> list[str]:
    found: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            if redact.is_secret_key(str(key)) and isinstance(item, str | int | float):
                found.append(str(item))
            else:
                found += _secret_values_in(item, redact)
    elif isinstance(value, list | tuple):
        for item in value:
            key, sep, text = item.partition("=") if isinstance(item, str) else ("", "", "")
            if sep and redact.is_secret_key(key):
                found.append(text)
            else:
                found += _secret_values_in(item, redact)
    return found


def _mask_env_lists(value: Any, redact: Redactor) -> Any:
    """Environments given as ``KEY=VALUE`` lists, with secret values masked."""
    if isinstance(value, Mapping):
        return {
            k: (
                [
                    f"{e.partition('=')[0]}={MASK}"
                    if isinstance(e, str) and redact.is_secret_key(e.partition("=")[0])
                    else e
                    for e in v
                ]
                if k == "environment" and isinstance(v, list | tuple)
                else _mask_env_lists(v, redact)
            )
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_mask_env_lists(v, redact) for v in value]
    return value


def restored(value: Any) -> Any:
    """The inverse of ``stored`` for what can be restored: secret references come back."""
    if isinstance(value, dict):
        if set(value) in ({"$secret", "name"}, {"$secret", "name", "file"}):
            return SecretRef(value["$secret"], value["name"], value.get("file"))
        return {k: restored(v) for k, v in value.items()}
    if isinstance(value, list):
        return [restored(v) for v in value]
    return value


def masked_paths(value: Any, path: str = "") -> list[str]:
    """Where in a stored value a secret was masked (the value is gone for good)."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in masked_paths(v, f"{path}.{k}" if path else k)]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in masked_paths(v, f"{path}[{i}]")]
    return [path] if isinstance(value, str) and MASK in value else []


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


@dataclass
class JournalEntry:
    """One run as the journal holds it (``manager.history_entry(run_id)``)."""

    run_id: str
    started_at: str
    finished_at: str | None
    user: str | None
    host: str | None
    notebook: str | None
    engine: str | None
    engine_id: str | None
    operation: str
    stack: str | None
    outcome: str
    changes: dict[str, int]
    error: str | None
    correlation_id: str | None
    reverts: str | None
    request: dict[str, Any]
    plan: list[dict[str, Any]]
    result: dict[str, Any]
    prior: dict[str, Any]
    steps: list[dict[str, Any]] = field(default_factory=list)

    def steps_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.steps, columns=["seq", "at", "kind", "resource", "message"])

    def __repr__(self) -> str:
        return (
            f"JournalEntry({self.run_id!r}, {self.operation!r}, stack={self.stack!r}, "
            f"outcome={self.outcome!r}, changes={changes_text(self.changes)!r}, "
            f"{len(self.steps)} step(s))"
        )

    def _repr_html_(self) -> str:
        rows = [
            ("run", self.run_id),
            ("operation", self.operation),
            ("stack", self.stack or ""),
            ("outcome", self.outcome),
            ("who", f"{self.user} on {self.host}"),
            ("notebook", self.notebook or ""),
            ("engine", f"{self.engine} ({self.engine_id or 'id unknown'})"),
            ("started / finished", f"{self.started_at} / {self.finished_at or '-'}"),
            ("changes", changes_text(self.changes)),
            ("error", self.error or ""),
            ("reverts", self.reverts or ""),
        ]
        head = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
            f"<td style='text-align:left'>{html.escape(str(v))}</td></tr>"
            for k, v in rows
        )
        steps = self.steps_frame().to_html(index=False, border=0)
        return f"<table>{head}</table><h4>Steps</h4>{steps}"


def changes_text(changes: Mapping[str, int]) -> str:
    return ", ".join(f"{action} {count}" for action, count in changes.items())


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
        """Write the ``running`` record of a run (before its first engine call)."""
        self._write(
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
        return Recorder(self, start.run_id)

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
            f"stack, outcome, changes, error, correlation_id, process FROM runs{where} "
            "ORDER BY started_at DESC"
        )
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        rows = self._read(sql, params)
        settled = self._settle(r for r in rows if r["outcome"] == "running")
        frame = pd.DataFrame(
            [tuple(r)[:-1] for r in rows], columns=list(HISTORY_COLUMNS), dtype="object"
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
    return counts


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
        "warnings": list(result.warnings),
        "duration_seconds": result.duration_seconds,
    }


# ---------------------------------------------------------------------- revert


def plan_revert(
    entry: JournalEntry,
    image_ids: Mapping[str, str | None],
    dry_run: bool = False,
    later_runs: Sequence[str] = (),
) -> tuple[InfrastructureOperation, list[str]]:
    """The request that puts ``entry``'s stack back to its recorded prior state, and notes
    for the result. ``image_ids``: each image reference and prior image id the prior state
    names, with the id it has on the engine now (``None``: gone). Raises ``RevertError``
    naming what is missing when the state cannot be restored exactly."""
    from infranb.core.errors import RevertError
    from infranb.models import InfrastructureOperation

    run = entry.run_id
    if undone_operation(entry) not in _desired_state_operations():
        raise RevertError(
            f"run {run} was a {entry.operation}: only orchestrate runs can be reverted "
            "(their prior state is recorded); nothing was changed"
        )
    if entry.outcome in ("refused", "rolled back") or not entry.prior:
        why = {
            "refused": "was refused and changed nothing",
            "rolled back": "was already rolled back",
        }.get(entry.outcome, "recorded no prior state (it never reached the engine)")
        raise RevertError(f"run {run} {why}: there is nothing to revert")
    stack = str(entry.prior.get("stack") or entry.stack)
    notes: list[str] = []
    if later_runs:
        notes.append(
            f"runs after {run} changed stack {stack} too ({', '.join(later_runs)}): going back "
            "to the state before it undoes them as well"
        )
    kept_volumes = (entry.result or {}).get("volumes_created") or []
    if kept_volumes:
        notes.append(
            f"volumes made by run {run} are kept ({', '.join(kept_volumes)}): a revert never "
            f"deletes data; manager.down({stack!r}, volumes=True) removes them"
        )
    containers = entry.prior.get("containers", [])
    made_networks = (entry.result or {}).get("networks_created") or []
    if containers and made_networks:
        notes.append(
            f"networks made by run {run} are kept ({', '.join(made_networks)}); the reverted "
            "containers no longer use them"
        )
    if not containers:  # the run made the stack: going back is tearing it down
        teardown = InfrastructureOperation(
            operation="cleanup_resources",
            stack=stack,
            cleanup_stopped_containers=True,
            force_remove=True,
            dry_run=dry_run,
        )
        return teardown, notes
    specs = []
    for prior in containers:
        name, spec = prior["name"], prior.get("spec")
        if spec is None:
            raise RevertError(
                f"cannot revert run {run}: the spec of container {name} is not in the journal "
                f"(it was made by run {prior.get('run_id') or 'unknown'}, not recorded here); "
                "nothing was changed"
            )
        gone = masked_paths(spec)
        if gone:
            raise RevertError(
                f"cannot revert run {run}: container {name} needs {', '.join(gone)}, a secret "
                "value the journal never stores; nothing was changed. Give secrets as "
                "secret_from_env(...) references so a revert can read them again"
            )
        spec = restored(spec)
        _check_references(run, name, spec, prior)
        was, now_id = prior.get("image_id"), image_ids.get(str(spec.get("image")))
        if was and now_id != was:
            if image_ids.get(was) is None:
                raise RevertError(
                    f"cannot revert run {run}: container {name} ran image {spec.get('image')} "
                    f"({was[:19]}), which is no longer on the engine; nothing was changed. "
                    "Pull or build it back first"
                )
            notes.append(
                f"{name}: {spec.get('image')} names another image now; reverted to the image "
                f"it ran before, {was[:19]}"
            )
            spec = {**spec, "image": was}
        if prior.get("state") not in (None, "running"):
            notes.append(f"{name} was {prior['state']} before run {run}; it is started now")
        specs.append(spec)
    request = InfrastructureOperation(
        operation="orchestrate_containers",
        stack=stack,
        containers=specs,
        networks=restored(entry.prior.get("networks") or {}),
        volumes=restored(entry.prior.get("volumes") or {}),
        remove_orphans=True,
        dry_run=dry_run,
    )
    return request, notes


def _check_references(
    run: str, name: str, spec: Mapping[str, Any], prior: Mapping[str, Any]
) -> None:
    """Each secret reference of a container to put back is read again now and checked
    against the salted fingerprint the container carried: a value that changed since (the
    .env file was edited) would make another container, so the revert is refused."""
    from infranb.core.errors import RevertError
    from infranb.core.specs import environment_fingerprint, file_fingerprint
    from infranb.inputs.compose.interpolation import env_file_values

    prints = prior.get("environment_prints") or {}
    for path, item in (spec.get("files") or {}).items():
        content = item.get("content") if isinstance(item, Mapping) else item
        if not isinstance(content, SecretRef):
            continue
        try:
            now = content.resolve(env_file_values)
        except LookupError as e:
            raise RevertError(
                f"cannot revert run {run}: container {name} needs its file {path} from "
                f"{content.where}: {e}; nothing was changed"
            ) from None
        mode = item.get("mode", 0o444) if isinstance(item, Mapping) else 0o444
        recorded = prints.get(f"files.{path}")
        if recorded and file_fingerprint(path, now, mode, prior.get("salt", "")) != recorded:
            raise RevertError(
                f"cannot revert run {run}: the file {path} of container {name} came from "
                f"{content.where}, whose value changed since; nothing was changed"
            )
    for key, value in (spec.get("environment") or {}).items():
        if not isinstance(value, SecretRef):
            continue
        try:
            now = value.resolve(env_file_values)
        except LookupError as e:
            raise RevertError(
                f"cannot revert run {run}: container {name} needs environment.{key} from "
                f"{value.where}: {e}; nothing was changed"
            ) from None
        recorded = prints.get(f"environment.{key}")
        if recorded and environment_fingerprint(key, now, prior.get("salt", "")) != recorded:
            raise RevertError(
                f"cannot revert run {run}: environment.{key} of container {name} came from "
                f"{value.where}, whose value changed since; nothing was changed. Set it back "
                "to the value it had, or bring the stack up with the new one"
            )


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


def undone_operation(entry: JournalEntry) -> str:
    """The operation a run ran: a revert's is the one its request holds (the undo of an
    orchestrate is an orchestrate, of an update an update)."""
    if entry.operation == REVERT:
        return str((entry.request or {}).get("operation") or entry.operation)
    return entry.operation


def _desired_state_operations() -> list[str]:
    """The operations whose requests are a stack's desired state, as the table says."""
    from infranb.ops.table import OPERATIONS

    return [name for name, op in OPERATIONS.items() if op.desired_state]
