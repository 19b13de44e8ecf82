"""Secret environment values: references resolved at run time, and masking for display.

The rule: an environment key is secret when, upper-cased, it contains one of
``DEFAULT_SECRET_MARKERS`` (configurable with ``InfrastructureManagerConfig.secret_markers``),
or when its value is a ``SecretRef``. Secret values reach the container and nothing else:
reprs, frames, errors, plans and progress events show ``MASK`` instead.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

MASK = "••••••"
DEFAULT_SECRET_MARKERS: tuple[str, ...] = (
    "PASSWORD",
    "PASSWD",
    "PASS",
    "SECRET",
    "TOKEN",
    "KEY",
    "CREDENTIAL",
    "AUTH",
    "PRIVATE",
    "CERT",
)


@dataclass(frozen=True)
class SecretRef:
    """A secret that infranb reads when the operation runs, shown only by its source."""

    source: str  # "env" or "file"
    name: str

    def resolve(self) -> str:
        """Return the secret's value; raises ``LookupError`` naming the source when missing."""
        if self.source == "env":
            value = os.environ.get(self.name)
            if value is None:
                raise LookupError(
                    f"environment variable {self.name} is not set; export it before running"
                )
            return value
        path = Path(self.name).expanduser()
        try:
            return path.read_text().rstrip("\n")
        except OSError as e:
            raise LookupError(f"secret file {self.name} cannot be read ({e.strerror})") from e

    def __repr__(self) -> str:
        helper = "secret_from_env" if self.source == "env" else "secret_from_file"
        return f"{helper}({self.name!r})"

    __str__ = __repr__


def secret_from_env(name: str) -> SecretRef:
    """A spec value read from the environment variable ``name`` at run time."""
    return SecretRef("env", name)


def secret_from_file(path: str | os.PathLike[str]) -> SecretRef:
    """A spec value read from the file at ``path`` at run time (trailing newline dropped)."""
    return SecretRef("file", os.fspath(path))


def is_secret_key(key: str, markers: Iterable[str] = DEFAULT_SECRET_MARKERS) -> bool:
    """True when an environment key looks like it holds a secret."""
    upper = key.upper()
    return any(marker in upper for marker in markers)


def masked_environment(
    env: Mapping[str, object], markers: Iterable[str] = DEFAULT_SECRET_MARKERS
) -> dict[str, str]:
    """The environment as it may be shown: secret values masked, references by name."""
    markers = tuple(markers)
    shown: dict[str, str] = {}
    for key, value in env.items():
        if isinstance(value, SecretRef):
            shown[key] = repr(value)
        elif is_secret_key(key, markers):
            shown[key] = MASK
        else:
            shown[key] = str(value)
    return shown


class Redactor:
    """Replaces known secret values in free text (errors, logs, probe output)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Short values would mask ordinary words; only values of 4+ characters are searched.
        self.values = tuple(sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True))
        self._pattern = re.compile("|".join(map(re.escape, self.values))) if self.values else None

    def __call__(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(MASK, text)

    def extend(self, secrets: Iterable[str]) -> Redactor:
        """A redactor that also hides ``secrets``."""
        return Redactor([*self.values, *secrets])
