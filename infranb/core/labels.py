"""The labels infranb puts on what it creates; the one place their names are spelled.

Selecting by label (the engine's filter syntax) is the engine module's job: the rest of
infranb passes ``{label: value}`` mappings.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from infranb.core.sync import gather_all

#: the name the engine gives an anonymous volume (64 hex digits)
ANONYMOUS_VOLUME = re.compile(r"[0-9a-f]{64}")

T = TypeVar("T")

MANAGED = "infranb.managed"
STACK = "infranb.stack"
SPEC_HASH = "infranb.spec-hash"
SPEC_FIELDS = "infranb.spec-fields"
SALT = "infranb.salt"
#: a Swarm stack's key for naming its secrets by content (on its services): without it, a
#: secret's name says nothing about its content
SECRET_KEY = "infranb.secret-key"
#: names (never values) of environment keys whose values came from secret references
SECRET_KEYS = "infranb.secret-keys"
DEPENDS_ON = "infranb.depends-on"
#: a container's pre_stop hooks (JSON), so a stop finds them without the file that set them
PRE_STOP = "infranb.pre-stop"
RUN = "infranb.run"
CORRELATION = "infranb.correlation-id"
RESERVED_PREFIX = "infranb."

#: Compose's labels, as Compose v2 writes them (pkg/api/labels.go): a project made by
#: ``docker compose`` is a stack to infranb, and infranb writes them too, so its stacks are
#: Compose projects to ``docker compose ps``, ``logs`` and ``down``.
COMPOSE_PREFIX = "com.docker.compose."
COMPOSE_PROJECT = "com.docker.compose.project"
COMPOSE_SERVICE = "com.docker.compose.service"
COMPOSE_NUMBER = "com.docker.compose.container-number"
COMPOSE_ONEOFF = "com.docker.compose.oneoff"
COMPOSE_WORKING_DIR = "com.docker.compose.project.working_dir"
COMPOSE_CONFIG_FILES = "com.docker.compose.project.config_files"
COMPOSE_DEPENDS_ON = "com.docker.compose.depends_on"
COMPOSE_IMAGE = "com.docker.compose.image"
COMPOSE_VERSION = "com.docker.compose.version"
COMPOSE_CONFIG_HASH = "com.docker.compose.config-hash"
COMPOSE_NETWORK = "com.docker.compose.network"
COMPOSE_VOLUME = "com.docker.compose.volume"
#: what ``docker stack deploy`` puts on a Swarm stack's services, networks and secrets
STACK_NAMESPACE = "com.docker.stack.namespace"
#: prefixes a request may not set: these labels say who made a thing, and for which stack
RESERVED_PREFIXES = (RESERVED_PREFIX, COMPOSE_PREFIX, "com.docker.stack.")

#: networks every engine has; never created, never removed
BUILTIN_NETWORKS = ("bridge", "host", "none")


def managed(stack: str | None = None) -> dict[str, str]:
    """The selector of what infranb manages (in one stack, when given)."""
    selector = {MANAGED: "true"}
    if stack is not None:
        selector[STACK] = stack
    return selector


def is_managed(labels: Mapping[str, str]) -> bool:
    return labels.get(MANAGED) == "true"


def stack_of(labels: Mapping[str, str]) -> str | None:
    """The stack a thing belongs to: infranb's label, else its Compose project, else its
    ``docker stack deploy`` namespace."""
    return labels.get(STACK) or labels.get(COMPOSE_PROJECT) or labels.get(STACK_NAMESPACE)


def made_by_compose(labels: Mapping[str, str]) -> bool:
    """Made by ``docker compose`` (or ``docker-compose``), not by infranb."""
    return COMPOSE_PROJECT in labels and not is_managed(labels)


def stack_selectors(stack: str) -> list[dict[str, str]]:
    """The label selectors whose union is one stack: what infranb made for it (also what it
    made before it wrote Compose's labels) and the Compose project of that name."""
    return [managed(stack), {COMPOSE_PROJECT: stack}]


def source_of(labels: Mapping[str, str]) -> str:
    """Who made a thing: ``infranb``, ``compose``, ``swarm`` or ``""`` (by hand)."""
    if is_managed(labels):
        return "infranb"
    if COMPOSE_PROJECT in labels:
        return "compose"
    if STACK_NAMESPACE in labels:
        return "swarm"
    return ""


def compose_key(stack: str, name: str) -> str:
    """The Compose file's key of a network or volume named ``<project>_<key>``."""
    return name.removeprefix(f"{stack}_")


async def in_stack(
    call: Callable[..., Awaitable[list[T]]],
    list_them: Callable[..., list[T]],
    stack: str,
    *,
    labels: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> list[T]:
    """Everything ``list_them`` lists for ``stack`` (by any of its selectors, each with
    ``labels`` too), once each, in the engine's order. ``call`` runs an engine call off the
    loop (a runtime's or a view's)."""
    groups: list[list[T]] = await gather_all(
        *(
            call(list_them, labels={**selector, **(labels or {})}, **kwargs)
            for selector in stack_selectors(stack)
        )
    )
    seen: dict[str, T] = {}
    for item in (item for group in groups for item in group):
        seen.setdefault(getattr(item, "id", None) or item.name, item)  # type: ignore[attr-defined]
    return list(seen.values())


def secret_keys(labels: Mapping[str, str]) -> list[str]:
    """Environment keys a secret reference filled (recorded by name when created)."""
    return [k for k in labels.get(SECRET_KEYS, "").split(",") if k]
