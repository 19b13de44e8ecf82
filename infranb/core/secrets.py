"""Secret environment values: references resolved at run time, and masking for display.

The rules: an environment key is secret when, upper-cased, it contains one of
``DEFAULT_SECRET_MARKERS`` (configurable with ``InfrastructureManagerConfig.secret_markers``),
or when its value is a ``SecretRef``; and the credentials inside any URL-shaped value
(``postgres://app:pw@db/app``) are secret whatever the key. Secret values reach the container
and nothing else: reprs, str, frames, errors, plans, logs and progress events show ``MASK``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
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
    """A secret that infranb reads when the operation runs, shown only by its source.

    Sources: ``env`` (the variable ``name``), ``file`` (the file ``name``), and the two a
    Compose project's values come from: ``dotenv`` (the variable ``name``: the environment,
    else the project's ``.env`` file ``file``, as Compose interpolates) and ``env_file``
    (the key ``name`` of a service's ``env_file``, ``file``)."""

    source: str  # "env", "file", "dotenv", "env_file"
    name: str
    file: str | None = None

    def resolve(self, read_env_file: Callable[[str], Mapping[str, str]] | None = None) -> str:
        """Return the secret's value; raises ``LookupError`` naming the source when missing.
        ``read_env_file`` reads a Compose env file (the ``dotenv``/``env_file`` sources)."""
        if self.source == "env" or (self.source == "dotenv" and self.name in os.environ):
            value = os.environ.get(self.name)
            if value is None:
                raise LookupError(
                    f"environment variable {self.name} is not set; export it before running"
                )
            return value
        if self.source in ("dotenv", "env_file"):
            return self._from_env_file(read_env_file)
        path = Path(self.name).expanduser()
        try:
            return path.read_text().rstrip("\n")
        except OSError as e:
            raise LookupError(f"secret file {self.name} cannot be read ({e.strerror})") from e

    def _from_env_file(self, read: Callable[[str], Mapping[str, str]] | None) -> str:
        if read is None:
            raise LookupError(f"{self.name} is read from {self.file}: give read_env_file")
        try:
            values = read(str(self.file))
        except OSError as e:
            raise LookupError(
                f"{self.name} came from {self.file}, which cannot be read ({e.strerror}); "
                f"restore the file or export {self.name}"
            ) from e
        if self.name not in values:
            raise LookupError(
                f"{self.name} is no longer in {self.file}; put it back or export {self.name}"
            )
        return str(values[self.name])

    @property
    def where(self) -> str:
        """Where the value is read from, in words (for errors)."""
        if self.source == "dotenv":
            return f"the variable {self.name} (environment, else {self.file})"
        if self.source == "env_file":
            return f"{self.name} in {self.file}"
        return f"{'variable' if self.source == 'env' else 'file'} {self.name}"

    def __repr__(self) -> str:
        if self.source in ("dotenv", "env_file"):
            return f"{self.source}({self.name!r}, {self.file!r})"
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


# scheme://user:password@host or scheme://token@host: everything before the last "@" of the
# authority part is credentials.
_URL_CREDENTIALS = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<auth>[^/\s@]+)@")


def mask_url_credentials(text: str) -> str:
    """``postgres://app:pw@db/app`` -> ``postgres://app:••••••@db/app`` (a lone user or token
    is masked whole, except an ssh:// user: ssh authenticates with keys, not the URL)."""

    if "@" not in text:  # no credentials without one (a fast test for long texts)
        return text

    def hide(match: re.Match[str]) -> str:
        user, sep, _password = match["auth"].partition(":")
        if sep:
            return f"{match['scheme']}{user}:{MASK}@"
        if match["scheme"].lower() == "ssh://":
            return match[0]
        return f"{match['scheme']}{MASK}@"

    return _URL_CREDENTIALS.sub(hide, text)


def shown_value(key: str, value: object, markers: Iterable[str] = DEFAULT_SECRET_MARKERS) -> str:
    """One environment value as it may be shown."""
    if isinstance(value, SecretRef):
        return repr(value)
    if is_secret_key(key, markers):
        return MASK
    return mask_url_credentials(str(value))


def secret_values(
    env: Mapping[str, object],
    markers: Iterable[str] = DEFAULT_SECRET_MARKERS,
    also: Iterable[str] = (),
) -> list[str]:
    """The values of ``env`` that are secret by their key, or whose key is in ``also`` (keys
    a secret reference filled), to hide them in free text."""
    markers, also = tuple(markers), set(also)
    return [
        str(v) for k, v in env.items() if v is not None and (k in also or is_secret_key(k, markers))
    ]


def masked_environment(
    env: Mapping[str, object], markers: Iterable[str] = DEFAULT_SECRET_MARKERS
) -> dict[str, str]:
    """The environment as it may be shown: secret values masked, references by name."""
    markers = tuple(markers)
    return {key: shown_value(key, value, markers) for key, value in env.items()}


def masked_container(raw: object, markers: Iterable[str] = DEFAULT_SECRET_MARKERS) -> object:
    """A container dict of a request as it may be shown: its environment masked, whether
    given as a dict or as a list of ``KEY=VALUE`` strings (a malformed entry is masked whole,
    since it may be a secret typed with the wrong separator)."""
    if not isinstance(raw, Mapping):
        return raw
    if isinstance(raw.get("files"), Mapping):
        raw = {**raw, "files": masked_files(raw["files"])}
    for hooks in ("post_start", "pre_stop"):  # a hook's environment, as the container's
        if isinstance(raw.get(hooks), list | tuple):
            raw = {**raw, hooks: [masked_container(h, markers) for h in raw[hooks]]}
    if "environment" not in raw:
        return raw
    env = raw["environment"]
    if isinstance(env, Mapping):
        shown: object = masked_environment(env, markers)
    elif isinstance(env, list | tuple):
        entries: list[str] = []
        for item in env:
            key, sep, value = str(item).partition("=")
            entries.append(f"{key}={shown_value(key, value, markers)}" if sep else MASK)
        shown = entries
    else:
        shown = MASK
    return {**raw, "environment": shown}


def masked_files(files: Mapping[str, object]) -> dict[str, object]:
    """A request's ``files`` as they may be shown: a secret file's content masked (one
    marked ``"secret": True``, or under ``/run/secrets/``), references by name."""
    shown: dict[str, object] = {}
    for path, item in files.items():
        entry = dict(item) if isinstance(item, Mapping) else {"content": item}
        secret = bool(entry.get("secret")) or str(path).startswith("/run/secrets/")
        if secret and not isinstance(entry.get("content"), SecretRef):
            entry["content"] = MASK
        shown[str(path)] = entry
    return shown


class Redactor:
    """Replaces known secret values in free text (errors, logs, probe output), and knows
    which keys hold secrets (``markers``: the manager's ``config.secret_markers``).

    Masking goes by role: ``identifiers`` (container, service, image, network and volume
    names, paths) are never rewritten. A secret inside a longer identifier in free text
    (the password ``wordpress`` in the container name ``shop-wordpress-1`` or the image
    ``wordpress:apache``) is left alone there; standing alone it is masked."""

    def __init__(
        self,
        secrets: Iterable[str] = (),
        markers: Iterable[str] = DEFAULT_SECRET_MARKERS,
        identifiers: Iterable[str] = (),
    ) -> None:
        # Short values would mask ordinary words; only values of 4+ characters are searched.
        self.values = tuple(sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True))
        self.markers = tuple(markers)
        self.identifiers = tuple(sorted({i for i in identifiers if i}, key=len, reverse=True))
        self._pattern = re.compile("|".join(map(re.escape, self.values))) if self.values else None
        self._names = (
            re.compile("|".join(map(re.escape, self.identifiers))) if self.identifiers else None
        )

    def __call__(self, text: str) -> str:
        if not text:
            return text
        text = mask_url_credentials(text)
        if self._pattern is None:
            return text
        if self._names is None:
            return self._pattern.sub(MASK, text)
        # The spans of identifiers longer than a secret found inside them stay as written.
        kept = [m.span() for m in self._names.finditer(text)]

        def hide(match: re.Match[str]) -> str:
            start, end = match.span()
            inside = any(a <= start and end <= b and b - a > end - start for a, b in kept)
            return match[0] if inside else MASK

        return self._pattern.sub(hide, text)

    def extend(self, secrets: Iterable[str], identifiers: Iterable[str] = ()) -> Redactor:
        """A redactor that also hides ``secrets`` (and keeps ``identifiers`` as written)."""
        return Redactor([*self.values, *secrets], self.markers, [*self.identifiers, *identifiers])

    def is_secret_key(self, key: str) -> bool:
        """Whether a value under ``key`` is a secret, by this redactor's markers."""
        return is_secret_key(key, self.markers)
