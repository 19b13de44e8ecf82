"""What the journal keeps of a value, and back: JSON-ready, secrets masked by role (values
under secret keys, values known to be secret), secret references kept by name so a revert
reads them again (``stored``, ``restored``, ``masked_paths``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from typing import Any

from infranb.core.labels import RESERVED_PREFIXES
from infranb.core.request import InfrastructureOperation
from infranb.core.secrets import MASK, Redactor, SecretRef, masked_files

_NOTHING_KNOWN = Redactor()

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
            elif isinstance(item, str) and "=" in item:
                # a mount option string: "username=u,password=p" (a CIFS volume's ``o``)
                pairs = (p.partition("=") for p in item.split(","))
                found += [v for k, _, v in pairs if v and redact.is_secret_key(k.strip())]
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


def stored_operation(
    request: Mapping[str, Any], *, leave_out: Collection[str] = ()
) -> InfrastructureOperation:
    """The request a journal stored, as a request again (its secret references are read
    when it runs); ``leave_out``: fields not taken from it."""
    fields = {f.name for f in dataclasses.fields(InfrastructureOperation)} - set(leave_out)
    return InfrastructureOperation(**{k: v for k, v in restored(request).items() if k in fields})
