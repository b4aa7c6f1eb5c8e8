"""One small demo organization for the CLI tests (generated once, copied per test that writes)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import invoke


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory) -> Path:
    """``trailguard demo`` once: ./demo and ./.trailguard (the findings store) in a folder."""
    import os

    root = tmp_path_factory.mktemp("cli-demo")
    here = Path.cwd()
    os.chdir(root)
    try:
        result = invoke("demo", "--events", "2500", "--days", "2")
    finally:
        os.chdir(here)
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def demo(demo_root: Path, tmp_path: Path, monkeypatch) -> Path:
    """A private copy of the demo folder as the working directory."""
    work = tmp_path / "work"
    shutil.copytree(demo_root, work)
    monkeypatch.chdir(work)
    for name in list(__import__("os").environ):
        if name.startswith("TRAILGUARD_"):
            monkeypatch.delenv(name)
    # the demo's digest keys, trusted because they sit beside the source, not in it
    monkeypatch.setenv("TRAILGUARD_INTEGRITY_PUBLIC_KEYS", str(work / "demo.public-keys.json"))
    return work
