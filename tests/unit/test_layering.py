"""The folders are the seams: each imports only the layers below it, and nothing imports in
a circle.

    core      imports nothing above it
    engines   import only core (and only modules in engines/ import docker)
    inputs    import core
    views     import core and engines.base
    ops       import core, engines.base and inputs
    notebook  renders what it is given: no engine, runtime or view, no operation's module
    runbook   runs a runbook notebook headless (papermill) into a report: core, notebook
    (top)     manager, fleet, runtime, journal, models: anything below

Imports inside functions count (a lazy import is still a dependency); imports under
``if TYPE_CHECKING:`` count in ``core`` and ``engines`` (the types live in ``core``, below
everything), elsewhere not. One kind of lazy import is allowed upwards above ``core``: a repr
method (``_repr_mimebundle_``, ``__str__``, ...) handing its object to ``infranb.notebook``;
the types in ``core`` reach it through ``core.hooks`` instead.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[2] / "infranb"
DISPLAY_HOOKS = {"_repr_mimebundle_", "_repr_html_", "_repr_pretty_", "__repr__", "__str__"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path, *, hooks: bool = True, typing: bool = False) -> set[str]:
    """Every module this file imports at run time (absolute names); with ``hooks=False``,
    less the notebook imports of its repr methods; with ``typing=True``, those under
    ``if TYPE_CHECKING:`` too."""
    found: set[str] = set()

    def visit(node: ast.AST, in_hook: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node) and not typing:
            for child in node.orelse:
                visit(child, in_hook)
            return
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            in_hook = in_hook or node.name in DISPLAY_HOOKS
        names: set[str] = set()
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            # "from infranb.core import labels" imports the module infranb.core.labels
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        if in_hook and not hooks:
            names = {n for n in names if not n.startswith("infranb.notebook")}
        found.update(names)
        for child in ast.iter_child_nodes(node):
            visit(child, in_hook)

    visit(ast.parse(path.read_text()), False)
    return found


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def graph(*, hooks: bool = True, typing: bool = False) -> dict[str, set[str]]:
    known = modules()
    edges: dict[str, set[str]] = {}
    for name, path in known.items():
        found = imports_of(path, hooks=hooks, typing=typing)
        targets = {t for t in found if t in known and t != name}
        # A module's own packages run before it ("from infranb.ops import images" names
        # infranb.ops): they are not a dependency of it.
        edges[name] = {t for t in targets if not name.startswith(t + ".")}
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def folder(module: str) -> str:
    """``core``, ``engines``, ``inputs``, ``views``, ``ops``, ``notebook``, ``runbook``, or
    ``top``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or module in FOLDER_PACKAGES else "top"


FOLDER_PACKAGES = {
    f"infranb.{f}" for f in ("core", "engines", "inputs", "views", "ops", "notebook", "runbook")
}


def in_folders(targets: set[str], allowed: set[str]) -> set[str]:
    """The targets outside the allowed modules or folders (``"core"``, ``"engines.base"``)."""

    def ok(target: str) -> bool:
        return any(target == f"infranb.{a}" or target.startswith(f"infranb.{a}.") for a in allowed)

    return {t for t in targets if not ok(t)}


RULES = {
    "core": {"core"},
    "engines": {"core", "engines"},
    "inputs": {"core", "inputs"},
    "views": {"core", "engines.base", "views"},
    "ops": {"core", "engines.base", "inputs", "ops"},
    "runbook": {"core", "notebook", "runbook"},
}


def outside_rules(edges: dict[str, set[str]], layer: str) -> dict[str, list[str]]:
    """Each module of ``layer`` with the imports its folder's rule does not allow."""
    return {
        name: sorted(in_folders(targets, RULES[layer]))
        for name, targets in edges.items()
        if folder(name) == layer and in_folders(targets, RULES[layer])
    }


def test_no_import_cycle_inside_infranb() -> None:
    """None at all: imports for typing and in repr methods count too."""
    cycle = find_cycle(graph(typing=True))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize("layer", ["core", "engines"])
def test_the_types_and_engines_import_nothing_above_them_even_for_typing(layer: str) -> None:
    """The request, result, config, plan and outcome types live in ``core``: nothing there
    or in ``engines`` imports ``ops``, ``views``, ``notebook``, ``inputs`` or the top, not
    under ``TYPE_CHECKING``, not inside a function, not in a repr (those reach the layers
    above through ``core.hooks``, which the top registers)."""
    wrong = outside_rules(graph(typing=True), layer)
    assert not wrong, wrong


def test_the_types_module_users_import_only_names_the_core_types() -> None:
    """``infranb.models`` is the documented import path of the types, nothing more."""
    assert {t for t in graph(typing=True)["infranb.models"]} <= {
        m for m in modules() if folder(m) == "core"
    }


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_every_module_is_in_a_folder_or_the_top() -> None:
    top = {m for m in modules() if folder(m) == "top"}
    assert top == {
        "infranb",
        "infranb.__main__",  # python -m infranb: the command
        "infranb.cli",  # the infranb command (its runner lives in runbook.runner)
        "infranb.compose",  # the documented alias of inputs.compose
        "infranb.executor",  # the one executor every operation runs through
        "infranb.fleet",
        "infranb.healing",  # keep_healthy's feed: a heal per engine event
        "infranb.saved_plans",  # what a saved plan was made against, read from the engine
        "infranb.journal",
        "infranb.kubernetes",  # a stack as Kubernetes manifests (the mapping: core.kubernetes)
        "infranb.manager",
        "infranb.memory",  # kept alias of infranb.testing
        "infranb.models",
        "infranb.reading",  # what a manager reads beyond the views (feeds, copy_from, drift)
        "infranb.runtime",
        "infranb.testing",
        "infranb.widgets",  # the documented alias of notebook.widgets
    }


@pytest.mark.parametrize("layer", sorted(RULES))
def test_each_folder_imports_only_the_layers_below_it(layer: str) -> None:
    wrong = outside_rules(graph(hooks=False), layer)
    assert not wrong, wrong


def test_the_notebook_renders_what_it_is_given() -> None:
    """No engine, no runtime, no view query, no operation's module but the table: it may call
    the manager's public API from a form's button."""
    edges = graph(hooks=False)
    forbidden = ("infranb.engines", "infranb.runtime", "infranb.views")
    for name, targets in edges.items():
        if folder(name) != "notebook":
            continue
        for target in targets:
            assert not target.startswith(forbidden), (name, target)
            if target.startswith("infranb.ops."):
                assert target in ("infranb.ops.table", "infranb.ops.base"), (name, target)


def test_no_module_outside_ops_imports_an_operation_module() -> None:
    """Outside ``ops/`` an operation is reached through the table (``ops.table``) or its
    declaration types (``ops.base``), never by importing its module for a constant."""
    for name, targets in graph().items():
        if folder(name) == "ops":
            continue
        reached = {t for t in targets if t.startswith("infranb.ops.")}
        assert reached <= {"infranb.ops.table", "infranb.ops.base"}, (name, reached)


def test_operations_share_steps_through_modules_never_through_each_other() -> None:
    """An operation's module (an entry of the table) is imported by the table alone; what
    operations share lives in modules named for what they hold (``common``, ``registry``,
    ``environments``, ``swarm_stack``)."""
    from infranb.ops.table import OPERATIONS

    operation_modules = {OPERATIONS[name].parse.__module__ for name in OPERATIONS}
    for name, targets in graph(typing=True).items():
        if name == "infranb.ops.table":
            continue
        assert not (targets & operation_modules) - {name}, (name, targets & operation_modules)


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=module_name)
def test_only_modules_in_engines_import_docker(path: Path) -> None:
    uses_docker = any(name == "docker" or name.startswith("docker.") for name in imports_of(path))
    if uses_docker:
        assert folder(module_name(path)) == "engines", path


def test_the_rules_see_a_wrong_import() -> None:
    """The checker itself: an engine importing the manager is outside its folder's rule."""
    assert in_folders({"infranb.manager", "infranb.core.labels"}, RULES["engines"]) == {
        "infranb.manager"
    }
    assert folder("infranb.core.labels") == "core"
    assert folder("infranb.manager") == "top"
    assert folder("infranb.engines") == "engines"
