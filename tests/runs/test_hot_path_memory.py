"""The hot path's DuckDB takes the [duckdb] settings and spills into its own folder.

In Lambda the working folder (/var/task) is read-only; DuckDB's default spill folder is ``.tmp``
there, so rows over ``memory_limit`` would fail the tick instead of going to /tmp.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.workflow import hot_path

# Rows well over the memory limit below: about 200 MB of strings.
BIG_TABLE = "CREATE TEMP TABLE big AS SELECT range AS r, repeat('x', 100) || range AS s FROM range(2000000)"


def test_rows_over_the_memory_limit_spill_into_the_hot_paths_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings().with_overrides(data_dir=str(tmp_path / "data"))
    settings.raw["schedule"]["hot_tier"] = True
    settings.raw["duckdb"] = {"threads": 1, "memory_limit": "64MB"}
    (tmp_path / "bucket").mkdir()
    hot = hot_path(settings, str(tmp_path / "bucket"), lake=tmp_path / "lake")
    con = hot.local.con
    assert con.execute("SELECT current_setting('threads')").fetchone()[0] == 1
    spill = Path(con.execute("SELECT current_setting('temp_directory')").fetchone()[0])
    assert spill.is_relative_to(hot._tmp.name)
    monkeypatch.chdir("/proc")  # a working folder nothing can be created in, as /var/task in Lambda
    con.execute(BIG_TABLE)
    assert con.execute("SELECT count(*) FROM big").fetchone()[0] == 2_000_000
    assert any(spill.iterdir()), "nothing was spilled: the test no longer exercises the limit"
