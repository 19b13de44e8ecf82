"""Every claim of the README has tests that prove it, and every test named exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).parents[2]


#: the documentation's sections whose promises each need a row of their own (besides the
#: operations table and the "Behaviour worth knowing" bullets): a page's title or a section
#: of one, under ``docs/``
SECTIONS = (
    "Exploring a host",
    "Compose projects",
    "Several engines",
    "Docker Swarm",
    "The journal",
    "Notebooks",
    "Binder",
    "Layout",
)


def docs_text() -> str:
    return "\n".join(p.read_text() for p in sorted((REPO / "docs").glob("*.md")))


def readme_claims() -> list[str]:
    """The README's operations table's first cells, the "Behaviour worth knowing" bullets'
    leads (``docs/operations.md``), and the sections of ``SECTIONS`` (pages of ``docs/``)."""
    text = (REPO / "README.md").read_text()
    claims = re.findall(r"^\| `(\w+)` \| (?!what)", text, re.M)
    claims = [c for c in claims if c in text.split("| operation | what it does |")[1][:4000]]
    operations = (REPO / "docs" / "operations.md").read_text()
    section = operations.split("Behaviour worth knowing:")[1].split("\n\n")[1]
    for bullet in re.findall(r"^- (.+)$", section, re.M):
        lead = re.match(r"\*\*(.+?)\.?\*\*|`(\w+)`", bullet)
        assert lead, f"a bullet without a bold or code lead: {bullet[:60]}"
        claims.append((lead[1] or lead[2]).rstrip("."))
    docs = docs_text()
    for section in SECTIONS:
        assert re.search(rf"^##? {re.escape(section)}$", docs, re.M), f"no page for {section!r}"
        claims.append(f"## {section}")
    return claims


def proof_table() -> dict[str, list[str]]:
    text = (REPO / "tests" / "README.md").read_text().split("## What proves the README")[1]
    rows = {}
    for claim, proofs in re.findall(r"^\| (.+?) \| (`tests/.+) \|$", text, re.M):
        rows[claim.strip("`")] = re.findall(r"`(tests/[^`]+)`", proofs)
    return rows


def test_every_readme_claim_has_proof() -> None:
    claims = readme_claims()
    assert len(claims) >= 10  # the four operations and the behaviour bullets
    missing = [c for c in claims if not proof_table().get(c)]
    assert not missing, f"README claims with no test in tests/README.md: {missing}"


def test_every_named_test_exists() -> None:
    for claim, proofs in proof_table().items():
        for proof in proofs:
            path, _, name = proof.partition("::")
            tree = ast.parse((REPO / path).read_text())
            names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
            assert name in names, f"{claim}: {proof} does not exist"
