"""Counts of the keys infranb does not apply, over the corpus: the next gap, measured.

    python -m tests.compose.unapplied

One line per key: how many service rows have it, in how many projects, and whether it is
``unsupported`` (it would change the container: ``up`` refuses it unless allowed) or
``not applicable`` (it does not change a container).
"""

from __future__ import annotations

from collections import Counter

from tests.compose.test_reference import CASES, load


def counts() -> list[tuple[str, str, int, int]]:
    """(kind, key, service rows, projects), most rows first."""
    rows: Counter[tuple[str, str]] = Counter()
    projects: dict[tuple[str, str], set[str]] = {}
    for case in CASES:
        project = load(case)
        for kind, frame in (
            ("unsupported", project.unsupported),
            ("not applicable", project.not_applicable),
        ):
            for row in frame.itertuples():
                key = (kind, str(row.key).partition(" (")[0])
                rows[key] += 1
                projects.setdefault(key, set()).add(case.name)
    return sorted(
        ((kind, key, n, len(projects[(kind, key)])) for (kind, key), n in rows.items()),
        key=lambda r: (-r[2], r[0], r[1]),
    )


def main() -> None:
    found = counts()
    print(f"{len(CASES)} projects; {sum(n for _k, _key, n, _p in found)} unapplied key rows")
    print(f"{'kind':<15} {'key':<40} {'rows':>5} {'projects':>9}")
    for kind, key, n, in_projects in found:
        print(f"{kind:<15} {key:<40} {n:>5} {in_projects:>9}")


if __name__ == "__main__":
    main()
