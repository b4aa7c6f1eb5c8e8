"""Writing the Parquet lake: a part written whole or not at all, and small parts of a partition
merged into one (scheduled runs add a part per tick; many small files slow every query)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import duckdb

MAX_PARTS = 8  # scheduled runs add a small part per tick; past this many, a partition is rewritten as one
# DuckDB's error for a bad file quotes ~300 bytes of it; cut inside a multi-byte character, the
# message itself fails to decode and surfaces as UnicodeDecodeError instead of duckdb.Error.
READ_ERRORS = (duckdb.Error, UnicodeDecodeError)
SOURCE_FILE_COLUMN = "_source_file"  # the raw file each lake row came from


def copy_to_parquet(con: duckdb.DuckDBPyConnection, select_sql: str, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".parquet.tmp")
    escaped = str(tmp).replace("'", "''")
    try:
        con.execute(f"COPY ({select_sql}) TO '{escaped}' (FORMAT parquet, COMPRESSION zstd)")
    except READ_ERRORS:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, out)


def _finish_compaction(folder: Path) -> None:
    """Complete (or abandon) a compaction a crash interrupted, using its journal."""
    journal = folder / "_compaction.json"
    if not journal.is_file():
        return
    plan = json.loads(journal.read_text(encoding="utf-8"))
    if (folder / plan["merged"]).is_file():  # the merged part landed: the old parts must go
        for name in plan["parts"]:
            (folder / name).unlink(missing_ok=True)
    journal.unlink()


def compact_partition(folder: Path, con: duckdb.DuckDBPyConnection) -> bool:
    """Merge a partition's parts into one when there are too many (small files slow every query).

    A journal naming the merged part and the parts it replaces is written first; the merged part
    is renamed into place, then the old parts are removed and the journal last. A crash at any
    point leaves either the old parts or the merged one, never both once the journal is replayed.
    """
    _finish_compaction(folder)
    parts = sorted(folder.glob("part-*.parquet"))
    if len(parts) <= MAX_PARTS:
        return False
    digest = hashlib.sha1("\n".join(p.name for p in parts).encode()).hexdigest()[:16]
    merged = folder / f"part-{digest}-merged.parquet"
    journal = folder / "_compaction.json"
    journal.write_text(
        json.dumps({"merged": merged.name, "parts": [p.name for p in parts]}), encoding="utf-8"
    )
    names = "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in parts) + "]"
    copy_to_parquet(con, f"SELECT * FROM read_parquet({names}, union_by_name=true)", merged)
    _finish_compaction(folder)
    return True


def part_path(lake_table: Path, partition: tuple[str, ...], files: list[Path], suffix: str = "") -> Path:
    """Where a part of ``files`` goes: the same files always give the same name (re-runs replace it)."""
    digest = hashlib.sha1("\n".join(str(f) for f in files).encode()).hexdigest()[:16]
    return lake_table.joinpath(*partition[:2], partition[2], f"part-{digest}{suffix}.parquet")
