"""An unwritable state folder or output is one line, exit 2, and nothing advanced (issue 16, item 16).

Tests run as root, where permission bits do not stop a write, so the unwritable places here are
paths under a regular file (a folder cannot be made there): the same OSError a read-only
folder raises for everyone else."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli.main import app
from tests.helpers import data_dir_config, one_record_source


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return one_record_source(tmp_path)


def run(*extra: str, src: Path, tmp_path: Path):
    return CliRunner().invoke(app, ["run", "--now", "2026-11-01T12:00:00Z", "--source", str(src),
                                    "--config", str(data_dir_config(tmp_path)), *extra])


def test_unwritable_state_and_output_are_one_line(source: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    state = run("--state", str(blocker / "state"), "--output", str(tmp_path / "f.jsonl"),
                src=source, tmp_path=tmp_path)
    assert state.exit_code == 2 and "state folder" in state.output and "not writable" in state.output
    assert "Traceback" not in state.output and not isinstance(state.exception, Exception)
    output = run("--state", str(tmp_path / "state"), "--output", str(blocker / "findings.jsonl"),
                 src=source, tmp_path=tmp_path)
    assert output.exit_code == 2 and "--output file" in output.output, output.output
    assert not (tmp_path / "state").exists() or not list((tmp_path / "state").glob("*.json"))
