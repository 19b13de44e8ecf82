"""The labels infranb puts on what it creates; the one place their names are spelled.

Selecting by label (the engine's filter syntax) is the engine module's job: the rest of
infranb passes ``{label: value}`` mappings.
"""

from __future__ import annotations

from collections.abc import Mapping

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
RUN = "infranb.run"
CORRELATION = "infranb.correlation-id"
RESERVED_PREFIX = "infranb."

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
    return labels.get(STACK)


def secret_keys(labels: Mapping[str, str]) -> list[str]:
    """Environment keys a secret reference filled (recorded by name when created)."""
    return [k for k in labels.get(SECRET_KEYS, "").split(",") if k]
