"""The read-only views of an engine, one module each, and their table.

``EngineViews`` is the table: one line per view makes it a pair of typed methods (async
``a<name>`` and sync ``<name>``) of every class that runs views, the manager (on its engine)
and the fleet (on each engine, an ``engine`` column first). Adding a view is a module here
and one line below. ``engines`` is the fleet's own view (``Fleet.engines``).
"""

from __future__ import annotations

from infranb.views import backups as backups_view
from infranb.views import containers as containers_view
from infranb.views import diff as diff_view
from infranb.views import disk_usage as disk_usage_view
from infranb.views import events as events_view
from infranb.views import exec as exec_view
from infranb.views import fs_changes as fs_changes_view
from infranb.views import image_updates as image_updates_view
from infranb.views import images as images_view
from infranb.views import logs as logs_view
from infranb.views import networks as networks_view
from infranb.views import nodes as nodes_view
from infranb.views import ports as ports_view
from infranb.views import restarts as restarts_view
from infranb.views import services as services_view
from infranb.views import stacks as stacks_view
from infranb.views import stats as stats_view
from infranb.views import tasks as tasks_view
from infranb.views import top as top_view
from infranb.views import volumes as volumes_view
from infranb.views.base import EngineContext, View, view


class EngineViews:
    """The views, as methods of a manager or a fleet (each runs them with its ``_view``)."""

    acontainers, containers = view(containers_view.query, containers_view.SCHEMA)
    aimages, images = view(images_view.query, images_view.SCHEMA)
    anetworks, networks = view(networks_view.query, networks_view.SCHEMA)
    avolumes, volumes = view(volumes_view.query, volumes_view.SCHEMA)
    alogs, logs = view(logs_view.query, logs_view.SCHEMA)
    astats, stats = view(stats_view.query, stats_view.SCHEMA)
    aexec, exec = view(exec_view.query, exec_view.SCHEMA)
    anodes, nodes = view(nodes_view.query, nodes_view.SCHEMA)
    aservices, services = view(services_view.query, services_view.SCHEMA)
    atasks, tasks = view(tasks_view.query, tasks_view.SCHEMA)
    astacks, stacks = view(stacks_view.query, stacks_view.SCHEMA)
    # exploring a host: what happened, what takes the disk, why it restarts, how two differ
    aevents, events = view(events_view.query, events_view.SCHEMA)
    adisk_usage, disk_usage = view(disk_usage_view.query, disk_usage_view.SCHEMA)
    arestarts, restarts = view(restarts_view.query, restarts_view.SCHEMA)
    adiff, diff = view(diff_view.query, diff_view.SCHEMA)
    afs_changes, fs_changes = view(fs_changes_view.query, fs_changes_view.SCHEMA)
    aports, ports = view(ports_view.query, ports_view.SCHEMA)
    atop, top = view(top_view.query, top_view.SCHEMA)
    # day 2: which running containers have a newer image in their registry (no pull)
    aimage_updates, image_updates = view(image_updates_view.query, image_updates_view.SCHEMA)
    # the volume archives in the backup folder, and whether each is intact
    abackups, backups = view(backups_view.query, backups_view.SCHEMA)


#: every view by name
VIEWS: dict[str, View[...]] = {
    name.removeprefix("a"): method.view
    for name, method in vars(EngineViews).items()
    if name.startswith("a") and hasattr(method, "view")
}

__all__ = ["VIEWS", "EngineContext", "EngineViews", "View", "view"]
