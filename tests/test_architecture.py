"""The package's shape, enforced: imports flow one way, no cycles, only the CLI uses the demo,
nothing imports the tests. ``docs/architecture.md`` draws the same layers.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "pipeline"

# Lowest first. A module may import its own group and any group of a lower layer, never a higher
# one; groups on one layer may not import each other unless listed in SIDEWAYS.
LAYERS: list[set[str]] = [
    {"errors"},
    {"paths", "times"},
    {"config"},
    {"source"},
    {"catalog"},
    {"engines"},
    {"lake"},
    {"findings"},
    {"detections"},
    {"sinks"},
    {"runs"},
    {"integrity", "response", "incidents"},
    {"cost"},
    {"reports", "doctor"},
    {"workflow"},
    {"cli", "lambda_handler", "demo"},
]
SIDEWAYS: set[tuple[str, str]] = {("cli", "demo")}  # the CLI alone runs the demo
TOP_LEVEL_LIMIT = 6  # modules beside __init__.py; everything else lives in a subpackage


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Every pipeline module ``name`` imports, at the top or inside a function."""
    targets: set[str] = set()
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            candidates = [module] + [f"{module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            continue
        if any(c == "tests" or c.startswith("tests.") for c in candidates):
            targets.add("tests")
        # A package's own __init__ is not an edge: a submodule always runs it first anyway.
        targets.update(c for c in candidates if c in known and c != name and not name.startswith(c + "."))
    return targets


def _group(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "pipeline"


def _rank(group: str) -> int:
    for index, layer in enumerate(LAYERS):
        if group in layer:
            return index
    raise AssertionError(f"pipeline.{group} is in no layer of tests/test_architecture.py: place it")


def _graph() -> dict[str, set[str]]:
    known = _modules()
    return {name: _imports(name, path, known) for name, path in known.items()}


def test_every_group_has_a_layer_and_imports_flow_down() -> None:
    wrong = []
    for module, targets in _graph().items():
        source = _group(module)
        if source == "pipeline":
            continue  # the package's lazy re-exports for notebooks
        for target in targets - {"tests"}:
            dest = _group(target)
            if dest in (source, "pipeline"):
                continue
            if _rank(dest) > _rank(source) or (
                _rank(dest) == _rank(source) and (source, dest) not in SIDEWAYS
            ):
                wrong.append(f"{module} imports {target}")
    assert not wrong, "imports against the layers:\n" + "\n".join(sorted(wrong))


def test_no_import_cycle() -> None:
    graph = _graph()
    state: dict[str, int] = defaultdict(int)  # 0 new, 1 on the stack, 2 done
    stack: list[str] = []
    cycles: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt == "tests" or _group(nxt) == "pipeline":
                continue
            if state[nxt] == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif state[nxt] == 0:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if state[node] == 0:
            visit(node)
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_only_the_cli_imports_the_demo_and_nothing_imports_tests() -> None:
    graph = _graph()
    demo_users = sorted(m for m, t in graph.items() if _group(m) not in ("cli", "demo")
                        and any(_group(x) == "demo" for x in t))
    test_users = sorted(m for m, t in graph.items() if "tests" in t)
    assert not demo_users, f"only pipeline.cli may import pipeline.demo: {demo_users}"
    assert not test_users, f"production code imports tests: {test_users}"


def test_few_top_level_modules_and_every_subpackage_says_what_it_owns() -> None:
    top = sorted(p.stem for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
    assert len(top) <= TOP_LEVEL_LIMIT, f"top-level modules: {top}"
    for init in PACKAGE.glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc) > 40, f"{init.parent.name}/__init__.py needs a docstring saying what it owns"


def test_the_checker_sees_a_violation() -> None:
    """The rule is not vacuous: a source imported by a lower layer is caught."""
    assert _rank("source") < _rank("detections")
    assert _group("pipeline.detections.spec") == "detections"
    graph = _graph()
    assert "pipeline.detections.spec" in graph["pipeline.detections.run"] or graph["pipeline.detections.run"]
