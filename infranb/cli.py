"""The ``infranb`` command (installed with the package; ``python -m infranb`` too).

infranb report NOTEBOOK [-p NAME VALUE]... [-o DIR]   run a runbook, write its report
infranb report --template [PATH]                     write the runbook template
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

USAGE = "usage: infranb report NOTEBOOK [-p NAME VALUE]... [-o DIR] | infranb report --template"


def main(arguments: Sequence[str] | None = None) -> int:
    """Run one ``infranb`` command; its exit code."""
    given = list(sys.argv[1:] if arguments is None else arguments)
    if not given or given[0] in ("-h", "--help"):
        print(__doc__.strip() if __doc__ else USAGE)
        return 0 if given else 2
    command, rest = given[0], given[1:]
    if command == "report":
        from infranb.runbook.runner import main as report

        return report(rest)
    print(f"infranb: no command {command!r}\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
