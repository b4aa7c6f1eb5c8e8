"""The test suite's shape, enforced: tests/<subpackage>/ mirrors pipeline/<subpackage>/, every test
folder is a package, no two test modules share a name, and no test module imports another.

Fixtures come from tests/conftest.py, plain helpers from tests/helpers.py and the fake HTTP
services from tests/fake_services.py; a test module that imports another test module (or a
conftest) to borrow its fixtures or helpers couples the two and hides where things live.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parent
PACKAGE = TESTS.parent / "pipeline"
# Beside the test modules at the top of tests/: the shared fixtures and the helpers they use.
SUPPORT = {"__init__.py", "conftest.py", "helpers.py", "fake_services.py"}


def _is_test_module(name: str) -> bool:
    """``tests.sinks.test_sinks_jira`` or ``conftest``: what no test module may import."""
    last = name.rsplit(".", 1)[-1]
    return last.startswith("test_") or last == "conftest"


def forbidden_imports(source: str, module: str) -> list[str]:
    """Test modules (and conftests) that ``source``, the text of ``module``, imports."""
    package = module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if _is_test_module(alias.name)]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the importing module's package
                parts = package.split(".")
                base = ".".join([*parts[: len(parts) - node.level + 1], *([base] if base else [])])
            if _is_test_module(base):
                found.append(base)
            found += [f"{base}.{alias.name}" for alias in node.names if _is_test_module(alias.name)]
    return found


def _test_modules() -> list[Path]:
    return sorted(TESTS.rglob("test_*.py"))


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(TESTS.parent).with_suffix("").parts)


def test_no_test_module_imports_another_test_module() -> None:
    offenders = {
        _module_name(path): bad
        for path in [*_test_modules(), *TESTS.rglob("conftest.py")]
        if (bad := forbidden_imports(path.read_text(encoding="utf-8"), _module_name(path)))
    }
    assert not offenders, f"import fixtures from conftest.py and helpers from tests.helpers: {offenders}"


def test_the_import_check_sees_a_violation() -> None:
    """The rule is not vacuous: each way of importing a test module is caught, helpers are not."""
    module = "tests.runs.test_x"
    assert forbidden_imports("from tests.sinks.test_sinks_jira import sink", module) == [
        "tests.sinks.test_sinks_jira"]
    assert forbidden_imports("import tests.runs.test_runner", module) == ["tests.runs.test_runner"]
    assert forbidden_imports("from tests.sinks import test_sinks_slack", module) == [
        "tests.sinks.test_sinks_slack"]
    assert forbidden_imports("from .conftest import REGION", module) == ["tests.runs.conftest"]
    assert forbidden_imports("from ..conftest import REGION", module) == ["tests.conftest"]
    assert forbidden_imports("from tests.helpers import fill\nfrom tests.fake_services import FakeJira\n"
                             "from pipeline.runs.state import StateStore", module) == []


def test_test_folders_mirror_the_subpackages() -> None:
    subpackages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    folders = {p.name for p in TESTS.iterdir() if p.is_dir() and any(p.rglob("*.py"))}
    # deploy/: deploy/terraform and the Lambda packages, which live beside the package, not in it.
    assert folders - subpackages - {"deploy"} == set(), "name a folder after the subpackage it tests"
    assert subpackages - folders == set(), "each pipeline/ subpackage has its tests/<subpackage>/ folder"
    strays = sorted(p.name for p in TESTS.glob("*.py")
                    if p.name not in SUPPORT and not p.name.startswith("test_"))
    assert not strays, f"shared code goes in tests/helpers.py or tests/conftest.py: {strays}"


def test_every_test_folder_is_a_package_and_names_are_unique() -> None:
    folders = {p.parent for p in TESTS.rglob("*.py")}
    assert sorted(str(f) for f in folders if not (f / "__init__.py").is_file()) == []
    names = Counter(p.name for p in _test_modules())
    assert sorted(n for n, count in names.items() if count > 1) == [], "two test modules share a file name"
