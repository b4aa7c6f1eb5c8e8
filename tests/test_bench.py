"""The benchmark at a tiny size: every step runs, the Python rules agree with the SQL catalogue, the
last line has every key. Timings are not asserted (that is what ``make bench`` is for)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from benchmarks import bench
from benchmarks.python_rules import COVERED, burst_members, distinct_burst_members, scalar

KEYS = ("events", "ingest_eps", "bare_scan_eps", "ingest_ratio", "catalogue_s", "python_s", "speedup",
        "window_files", "total_files", "peak_mb")


@pytest.mark.slow
def test_bench_runs_end_to_end_at_a_tiny_size(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = bench.main(["--events", "8000", "--days", "3", "--dir", str(tmp_path), "--skip", "raw_queries"])
    out = capsys.readouterr().out
    assert code == 0, out
    last = out.strip().splitlines()[-1]
    pairs = dict(item.split("=", 1) for item in last.split())
    assert tuple(pairs) == KEYS
    assert int(pairs["events"]) == 8000 and float(pairs["peak_mb"]) > 0
    assert 0 < int(pairs["window_files"]) < int(pairs["total_files"])
    work = tmp_path / "work-8000-seed7-3d"
    differences = {k: v for k, v in bench.compare_ids(work / "sql_ids.json", work / "python_ids.json").items()
                   if v[2] or v[3]}
    assert differences == {}
    assert set(json.loads((work / "sql_ids.json").read_text())) <= COVERED
    assert "agree" in out and re.search(r"ids differ", out) is None
    # A second run reuses the dataset instead of generating it again.
    assert bench.main(["--events", "8000", "--days", "3", "--dir", str(tmp_path), "--skip",
                       "raw_queries,bare_scan,python_pass,python_rules,catalogue,window,ingest"]) == 0
    assert json.loads((work / "results.json").read_text())["generate"]["result"]["cached"] is True


def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--events", "10", "--skip", "nonsense"]) == 2
    assert "bad arguments" in capsys.readouterr().err


def test_scalar_follows_athena_json_extract_scalar() -> None:
    doc = {"a": {"b": True, "n": 3, "s": "x", "o": {}, "l": [1]}}
    found = [scalar(doc, "a", k) for k in ("b", "n", "s", "o", "l", "missing")]
    assert found == ["true", "3", "x", None, None, None]
    assert scalar("text") == "text" and scalar(None) is None


def test_bursts_follow_the_sliding_window_definition() -> None:
    # Five rows within 10 minutes of the first: all five are in the burst; a row 11 minutes after the
    # last start is not, and neither is a lone row.
    rows = [(t, f"e{t}") for t in (0, 60, 120, 300, 600)] + [(600 + 660, "late"), (99_999, "alone")]
    assert burst_members(rows, 5, 600) == {"e0", "e60", "e120", "e300", "e600"}
    names = [(t, f"n{t % 3}", f"e{t}") for t in range(0, 100, 10)]  # three distinct names
    assert distinct_burst_members(list(names), 3, 60) == {e for _, _, e in names}
    assert distinct_burst_members(list(names), 4, 60) == set()
