"""DuckDB's memory limit: the configured one, or in Lambda half the function's memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.engines.duckdb import DuckDBEngine, default_memory_limit


def _limit(engine: DuckDBEngine) -> str:
    return str(engine.con.execute("SELECT current_setting('memory_limit')").fetchone()[0])


def test_in_lambda_duckdb_takes_half_the_functions_memory() -> None:
    assert default_memory_limit({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024"}) == "512MB"
    assert default_memory_limit({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "not a number"}) == ""
    assert default_memory_limit({}) == ""


def test_the_engine_applies_the_lambda_default_unless_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "2048")
    assert _limit(DuckDBEngine(tmp_path)) == "976.5 MiB"  # 1024 MB, as DuckDB prints it
    assert _limit(DuckDBEngine(tmp_path, memory_limit="256MB")) == "244.1 MiB"
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
    assert _limit(DuckDBEngine(tmp_path)) not in ("976.5 MiB", "244.1 MiB")  # DuckDB's own default
