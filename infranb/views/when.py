"""Times as a person writes them in a notebook: a datetime, epoch seconds, or "10m" ago."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from infranb.core.errors import ValidationError

_AGO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

#: what a time argument may be
When = datetime | float | int | str


def moment(value: When | None, *, field: str, default: datetime | None = None) -> datetime:
    """``value`` as an aware datetime: a datetime (naive ones are local time), epoch
    seconds, or a duration ago ("90s", "10m", "2h", "1d")."""
    if value is None:
        if default is None:
            raise ValidationError([f"{field}: a time is needed"])
        return default
    if isinstance(value, datetime):
        return value if value.tzinfo else value.astimezone()
    if isinstance(value, bool):
        raise ValidationError([f"{field}: {value!r} is not a time"])
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC)
    ago = _AGO.match(value)
    if ago:
        return datetime.now(UTC) - timedelta(seconds=float(ago[1]) * _UNITS[ago[2]])
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            [f"{field}: cannot read {value!r}; give a datetime, epoch seconds or '10m' ago"]
        ) from None
    return parsed if parsed.tzinfo else parsed.astimezone()
