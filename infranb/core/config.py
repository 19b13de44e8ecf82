"""``InfrastructureManagerConfig``: how a manager behaves (spec fields, then additions)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from infranb.core.errors import SpecProblem
from infranb.core.secrets import DEFAULT_SECRET_MARKERS, mask_url_credentials
from infranb.core.specs import check_name, check_project_name

#: the changes ``snapshot_before`` can name
SNAPSHOT_CHANGES = ("remove_volume", "recreate_with_volume", "host_cleanup")
#: where the journal lives unless ``config.journal`` says otherwise
JOURNAL_PATH = "~/.local/share/infranb/journal.sqlite"


@dataclass(frozen=True)
class TLSFiles:
    """Client certificates for a ``tcp://`` engine started with ``--tlsverify``: the CA that
    signed the engine's certificate, and this client's certificate and key (PEM files)."""

    ca_cert: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    #: check the engine's certificate against ``ca_cert`` (keep it on)
    verify: bool = True

    def __repr__(self) -> str:
        return "TLSFiles(...)"  # key paths stay out of reprs


@dataclass
class InfrastructureManagerConfig:
    """Configuration for ``InfrastructureManager``."""

    default_network: str = "bridge"
    #: infranb removes the containers it stops (not the engine's AutoRemove, which would
    #: destroy a crashed container and its logs before anyone reads them).
    auto_remove_containers: bool = True
    auto_pull_images: bool = True
    container_start_timeout: float = 30.0
    #: a container "stayed up" when it does not die for this many seconds after its start
    #: (supervisord's ``startsecs``); a run waits for it, overlapping the rest of the
    #: bring-up. 0 turns it off. Dependents are released as before (at start for
    #: ``depends_on: started``, when ready otherwise).
    min_uptime: float = 1.0
    health_check_retries: int = 3
    health_check_interval: float = 5.0
    cleanup_on_failure: bool = True
    volume_driver: str = "local"
    #: stack used by orchestrate when the request names none
    default_stack: str = "default"
    #: engine calls in flight at once
    max_parallel: int = 8
    #: environment keys containing one of these (upper-cased) are masked in every output
    secret_markers: tuple[str, ...] = DEFAULT_SECRET_MARKERS
    #: allow bind mounts of sensitive host paths and privileged containers
    allow_sensitive_mounts: bool = False
    #: ``up`` a Compose project even though some of its keys are not applied (listed in
    #: ``project.unsupported``); off, such a project is refused before anything is touched
    allow_unapplied: bool = False
    #: seconds a container gets to stop on SIGTERM before it is killed
    stop_timeout: float = 10.0
    #: without a reachable engine, inventory helpers ("raise") raise EngineUnavailable, or
    #: ("note") print one line and return empty results, for notebooks that must also open
    #: where no engine runs (Binder). Operations always return a failed result instead.
    no_engine: Literal["raise", "note"] = "raise"
    #: in a notebook, ``await manager.execute(op)`` without ``progress=`` shows one line that
    #: updates in place (images' layers, containers ready); plain scripts never show it
    live_progress: bool = True
    #: the engine to talk to: unix:///..., tcp://host:2376, ssh://user@host; None: DOCKER_HOST
    #: (or the current Docker context). ssh:// uses the system ssh client (its config, known
    #: hosts and agent), paramiko only where no ssh client is installed.
    docker_host: str | None = None
    #: a Docker CLI context by name (``docker context ls``), instead of ``docker_host``
    docker_context: str | None = None
    #: client certificates for a tcp:// engine with TLS (``TLSFiles`` or a dict of its fields)
    tls: TLSFiles | dict[str, object] | None = field(default=None, repr=False)
    #: seconds to wait for an engine to answer before calling it unreachable (a fleet's rows)
    connect_timeout: float = 5.0
    #: the journal of every run that changes an engine (SQLite file); None: no journal
    journal: str | None = JOURNAL_PATH
    #: the notebook the journal names for this manager's runs, where the kernel cannot tell
    #: it (a plain ``jupyter_client`` kernel); a run's ``context`` may name its own
    notebook: str | None = None
    #: blast radius: a run whose plan removes or recreates more resources than this is
    #: refused before anything is touched (a request's own ``max_removals`` wins)
    max_removals: int | None = None
    #: destructive steps (remove, recreate) need ``execute(op, confirm=True)``; the forms
    #: always ask, with a Confirm button
    confirm_destructive: bool = False
    #: how a changed container is replaced where its ``update_config`` names no ``order``:
    #: "stop-first" (Compose's way), "start-first" or "auto" (start-first wherever two
    #: copies can safely run at once: no host port, no writable mount, no fixed address)
    update_order: Literal["stop-first", "start-first", "auto"] = "stop-first"
    #: seconds a start-first replacement's old container keeps answering beside the new one
    #: before it leaves its networks (requests already sent to it finish)
    update_drain: float = 1.0
    #: where backups and snapshots go; None: a ``backups`` folder beside the journal file
    #: (``~/.local/share/infranb/backups`` without a journal)
    backup_dir: str | None = None
    #: which changes take a snapshot of the volumes they could lose first: "remove_volume"
    #: (a teardown or cleanup of a named stack or of named volumes), "recreate_with_volume"
    #: (a replacement of a container that writes to a volume), and "host_cleanup" (a
    #: host-wide ``cleanup_volumes``, off by default); () turns them off
    snapshot_before: tuple[str, ...] = ("remove_volume", "recreate_with_volume")
    #: the most one run's snapshots may hold; a run over it is refused before it starts
    snapshot_max_bytes: int = 2 * 1024**3

    @property
    def backups_folder(self) -> Path:
        """``backup_dir``, or where it defaults to."""
        if self.backup_dir:
            return Path(self.backup_dir).expanduser()
        if self.journal and self.journal != ":memory:":
            return Path(self.journal).expanduser().parent / "backups"
        return Path(JOURNAL_PATH).expanduser().parent / "backups"

    def __repr__(self) -> str:
        # Hosts may carry credentials (ssh://user:pw@host) and tls names key files: masked.
        shown = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "tls":
                value = "<set>" if value else None
            elif f.name == "docker_host" and value:
                value = mask_url_credentials(value)
            shown.append(f"{f.name}={value!r}")
        return f"InfrastructureManagerConfig({', '.join(shown)})"

    def tls_files(self) -> TLSFiles | None:
        """``tls`` as ``TLSFiles`` (a dict is accepted for convenience)."""
        if isinstance(self.tls, dict):
            return TLSFiles(**self.tls)  # type: ignore[arg-type]
        return self.tls

    def validate(self) -> list[str]:
        """Problems with the configuration, each naming its field."""
        problems = []
        if self.max_parallel < 1:
            problems.append("config.max_parallel: must be at least 1")
        if self.container_start_timeout <= 0:
            problems.append("config.container_start_timeout: must be positive")
        if self.health_check_retries < 0:
            problems.append("config.health_check_retries: must be 0 or more")
        if self.no_engine not in ("raise", "note"):
            problems.append(f"config.no_engine: {self.no_engine!r} must be 'raise' or 'note'")
        if self.min_uptime < 0:
            problems.append("config.min_uptime: must be 0 (off) or more seconds")
        if self.update_order not in ("stop-first", "start-first", "auto"):
            problems.append(
                f"config.update_order: {self.update_order!r} must be 'stop-first', "
                "'start-first' or 'auto'"
            )
        unknown = set(self.snapshot_before) - set(SNAPSHOT_CHANGES)
        if unknown:
            problems.append(
                f"config.snapshot_before: {', '.join(sorted(unknown))} is not one of "
                + ", ".join(SNAPSHOT_CHANGES)
            )
        if self.snapshot_max_bytes < 0:
            problems.append("config.snapshot_max_bytes: must be 0 or more bytes")
        if self.update_drain < 0:
            problems.append("config.update_drain: must be 0 or more seconds")
        if self.health_check_interval < 0:
            problems.append("config.health_check_interval: must be 0 or more")
        if self.connect_timeout <= 0:
            problems.append("config.connect_timeout: must be positive")
        if self.max_removals is not None and (
            not isinstance(self.max_removals, int) or self.max_removals < 0
        ):
            problems.append("config.max_removals: must be None or a whole number, 0 or more")
        if self.docker_host and self.docker_context:
            problems.append("config.docker_context: give docker_host or docker_context, not both")
        if self.docker_host and not self.docker_host.startswith(
            ("unix://", "tcp://", "ssh://", "http://", "https://", "npipe://")
        ):
            problems.append(
                "config.docker_host: use unix:///path, tcp://host:port or ssh://user@host"
            )
        if isinstance(self.tls, dict):
            unknown = set(self.tls) - {"ca_cert", "client_cert", "client_key", "verify"}
            if unknown:
                problems.append(
                    f"config.tls: unknown key(s) {', '.join(sorted(unknown))}; use ca_cert, "
                    "client_cert, client_key, verify"
                )
        for check in (
            lambda: check_name(self.default_network, "config.default_network", "default network"),
            lambda: check_project_name(self.default_stack, "config.default_stack"),
        ):
            try:
                check()
            except SpecProblem as e:
                problems.append(str(e))
        return problems
