"""The records one run of an operation produced, before they become its result."""

from __future__ import annotations

from dataclasses import dataclass, field

from infranb.core.planning import PlanStep
from infranb.core.records import (
    ContainerOutcome,
    CopiedPath,
    FieldChange,
    HealRecord,
    HealthRecord,
    ImageOutcome,
    RemovedResource,
    ServiceOutcome,
    VolumeArchive,
)
from infranb.core.steps import Step


@dataclass
class Outcome:
    """The records one run produced; the result's spec fields are derived from these."""

    stack: str | None = None
    dry_run: bool = False
    scope: str | None = None
    plan: list[PlanStep] = field(default_factory=list)
    #: the executor's steps behind ``plan`` (a stepped operation's)
    steps: list[Step] = field(default_factory=list)
    containers: list[ContainerOutcome] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    images: list[ImageOutcome] = field(default_factory=list)
    removed: list[RemovedResource] = field(default_factory=list)
    health: list[HealthRecord] = field(default_factory=list)
    networks_created: list[str] = field(default_factory=list)
    volumes_created: list[str] = field(default_factory=list)
    build_logs: list[str] = field(default_factory=list)
    services: list[ServiceOutcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: containers this run stopped (teardowns, recreates), by name
    stopped: list[str] = field(default_factory=list)
    #: a failure whose changes were all undone
    rolled_back: bool = False
    #: what a rollback had to leave in place (then ``rolled_back`` is False), one sentence each
    remaining: list[str] = field(default_factory=list)
    #: the settings a live update changed
    updated: list[FieldChange] = field(default_factory=list)
    #: what ``copy_to`` put into containers
    copied: list[CopiedPath] = field(default_factory=list)
    #: volumes backed up or restored
    archives: list[VolumeArchive] = field(default_factory=list)
    #: what a heal did to each selected container
    healed: list[HealRecord] = field(default_factory=list)
