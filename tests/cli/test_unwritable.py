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
    assert state.exit_code == 2
    assert f"state folder {blocker / 'state'}: cannot create the folder" in state.output
    assert "nothing was run and no state advanced" in state.output
    assert "Traceback" not in state.output and not isinstance(state.exception, Exception)
    output = run("--state", str(tmp_path / "state"), "--output", str(blocker / "findings.jsonl"),
                 src=source, tmp_path=tmp_path)
    assert output.exit_code == 2 and "--output file" in output.output, output.output
    assert not (tmp_path / "state").exists() or not list((tmp_path / "state").glob("*.json"))


def test_one_writable_check_for_files_and_folders(tmp_path: Path) -> None:
    """detect/findings --output, report --out and run's state, output and store share one check."""
    from pipeline.cli import common, output, reports
    from pipeline.config import ConfigError

    assert output.check_writable is reports.check_writable is common.check_writable
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    common.check_writable(tmp_path / "new" / "out.jsonl", "--output")  # its folder is created
    assert (tmp_path / "new").is_dir() and not (tmp_path / "new" / "out.jsonl").exists()
    common.check_writable(tmp_path / "reports", "--out", folder=True)
    assert (tmp_path / "reports").is_dir() and not list((tmp_path / "reports").iterdir())  # no probe left
    for location, what, folder, message in [
        (tmp_path, "--output", False, "is a folder; give a file name"),
        (blocker, "--out", True, "is a file; give a folder"),
        (blocker / "sub", "--out", True, "cannot create the folder"),
        (blocker / "f.jsonl", "--output", False, "cannot create the folder"),
    ]:
        with pytest.raises(ConfigError, match=f"^{what} .*: {message}"):
            common.check_writable(location, what, folder=folder)
    for untouched in (None, "-", "s3://bucket/state"):
        common.check_writable(untouched, "--output")
