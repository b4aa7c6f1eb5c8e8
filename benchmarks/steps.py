"""The benchmark's steps, each run in its own process (``python -m benchmarks.steps STEP JSON``).

One process per step so each step's peak memory is its own (the parent reads it with ``wait4``)
and no step warms a cache for the next. A step prints ``progress DONE TOTAL`` lines while it runs
and one ``result {json}`` line at the end; the parent (``benchmarks/bench.py``) shows both.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from pipeline.catalog.duckdb_views import raw_scan_sql
from pipeline.catalog.specs import load_specs
from pipeline.detections.run import render_detection, run_detections
from pipeline.detections.spec import load_detections
from pipeline.engines.dialect import configure_connection
from pipeline.engines.duckdb import DuckDBEngine
from pipeline.lake.ingest import discover, ingest_table

from .python_rules import COVERED, PythonCatalogue, evaluate_files

Args = dict[str, Any]
STEPS: dict[str, Callable[[Args], dict[str, Any]]] = {}


def step(fn: Callable[[Args], dict[str, Any]]) -> Callable[[Args], dict[str, Any]]:
    STEPS[fn.__name__] = fn
    return fn


def progress(done: int, total: int) -> None:
    print(f"progress {done} {total}", flush=True)


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def raw_files(dataset: Path, table: str = "cloudtrail") -> list[Path]:
    """The raw files of ``table`` under ``dataset``, in partition order (what ingest reads)."""
    return [f for files in discover(dataset, load_specs()[table]).values() for f in files]


def _size(paths: list[Path]) -> int:
    return sum(p.stat().st_size for p in paths)


@step
def generate(args: Args) -> dict[str, Any]:
    """The dataset, cached by size, seed and days: a re-run reuses it."""
    from pipeline.demo.generate import generate_demo

    out, marker = Path(args["dataset"]), Path(args["dataset"]) / ".bench-complete"
    cached = marker.is_file() and marker.read_text().strip() == str(args["events"])
    if not cached:
        marker.unlink(missing_ok=True)
        generate_demo(out, seed=args["seed"], events=args["events"], days=args["days"], progress=progress)
        marker.write_text(str(args["events"]))
    files = raw_files(out)
    return {"cached": cached, "files": len(files), "bytes": _size(files)}


@step
def ingest(args: Args) -> dict[str, Any]:
    """Raw ``.json.gz`` to the zstd Parquet lake with ``pipeline.lake.ingest`` (a fresh lake each run)."""
    dataset, lake = Path(args["dataset"]), Path(args["lake"])
    shutil.rmtree(lake, ignore_errors=True)
    specs = load_specs()
    started = time.perf_counter()
    report = ingest_table(specs["cloudtrail"], dataset, lake, progress=progress)
    seconds = time.perf_counter() - started
    ingest_table(specs["guardduty_findings"], dataset, lake)  # the catalogue needs it; not timed
    parts = list((lake / "cloudtrail").rglob("*.parquet"))
    return {
        "records": report.records_ingested,
        "seconds": seconds,
        "eps": report.records_ingested / seconds,
        "skipped": len(report.skipped_files),
        "lake_files": len(parts),
        "lake_bytes": _size(parts),
    }


@step
def ingest_parallel(args: Args) -> dict[str, Any]:
    """A variant of ingest for comparison: the same per-partition COPY, two partitions at a time.

    Ingest runs one COPY per partition, one after the other, each over all cores; the profile shows
    the COPYs are 84% of its time and each has a fixed cost a 2-core machine cannot hide. Here two
    run at once, each on one DuckDB thread (only the Parquet writes, none of ingest's bookkeeping).
    """
    from concurrent.futures import ThreadPoolExecutor

    from pipeline.lake.ingest import _lake_select

    out = Path(args["lake"] + "-variant")
    shutil.rmtree(out, ignore_errors=True)
    spec = load_specs()["cloudtrail"]
    groups = list(discover(Path(args["dataset"]), spec).items())
    base = duckdb.connect()
    configure_connection(base)
    base.execute("SET threads=1")

    def copy(item: tuple[int, tuple[tuple[str, ...], list[Path]]]) -> int:
        n, (partition, files) = item
        target = out.joinpath(*partition) / "part-0.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        cursor = base.cursor()
        try:
            rows = cursor.execute(
                f"COPY ({_lake_select(spec, files)}) TO '{target}' (FORMAT parquet, COMPRESSION zstd)"
            ).fetchall()
        finally:
            cursor.close()
        if n % 20 == 0:
            progress(n, len(groups))
        return int(rows[0][0])

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        records = sum(pool.map(copy, enumerate(groups)))
    seconds = time.perf_counter() - started
    shutil.rmtree(out, ignore_errors=True)
    return {"records": records, "seconds": seconds, "eps": records / seconds}


def _reader(files: list[Path]) -> str:
    """DuckDB's read of the raw files with the full CloudTrail schema, as ingest reads them."""
    spec = load_specs()["cloudtrail"]
    record = "STRUCT(" + ", ".join(f'"{c.key}" {c.json_read_type()}' for c in spec.columns) + ")[]"
    names = "[" + ", ".join("'" + str(f).replace("'", "''") + "'" for f in files) + "]"
    return (
        f"read_json({names}, format='auto', records=true, filename=true, maximum_object_size=536870912, "
        f"columns={{'Records': '{record}'}})"
    )


def _timed_scan(sql: str) -> tuple[int, float]:
    con = duckdb.connect()
    configure_connection(con)
    started = time.perf_counter()
    rows = con.execute(sql).fetchall()
    return int(rows[0][0]), time.perf_counter() - started


@step
def bare_scan(args: Args) -> dict[str, Any]:
    """The floor: gzip + JSON parsing of every record into the full schema, nothing written.

    ``hash(r)`` touches every field, so no column is skipped. The second figure adds the reshape
    to the lower-case Athena columns (what ingest selects) without writing Parquet: the gap between
    the three says whether parsing, reshaping or writing dominates ingest.
    """
    files = raw_files(Path(args["dataset"]))
    records, parse_s = _timed_scan(
        f"SELECT count(*), sum(hash(r)) FROM (SELECT unnest(Records) AS r FROM {_reader(files)})"
    )
    spec = load_specs()["cloudtrail"]
    names = ", ".join(f'"{c}"' for c in spec.column_names)
    _, reshape_s = _timed_scan(
        f"SELECT count(*), sum(hash({names})) FROM ({raw_scan_sql(spec, [str(f) for f in files])})"
    )
    return {
        "records": records,
        "seconds": parse_s,
        "eps": records / parse_s,
        "reshape_seconds": reshape_s,
        "reshape_eps": records / reshape_s,
    }


@step
def python_pass(args: Args) -> dict[str, Any]:
    """Plain Python: gzip + ``json.load`` of every file, records counted."""
    files = raw_files(Path(args["dataset"]))
    started, records = time.perf_counter(), 0
    for n, path in enumerate(files, start=1):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            records += len(json.load(handle).get("Records", ()))
        if n % 500 == 0:
            progress(n, len(files))
    seconds = time.perf_counter() - started
    return {"records": records, "seconds": seconds, "eps": records / seconds}


def _finding_ids(findings: list[Any]) -> dict[str, list[str]]:
    ids: dict[str, set[str]] = {}
    for f in findings:
        ids.setdefault(f.detection_id, set()).update(f.event_ids)
    return {k: sorted(v) for k, v in sorted(ids.items())}


@step
def catalogue(args: Args) -> dict[str, Any]:
    """The detections the Python rules also implement, then the whole library, through the runner.

    The first run is the like-for-like figure against the Python rules (``seconds``); the library
    grows, so the whole of it is timed too (``all_seconds``). Each run starts from a new engine,
    so sqlglot's translation is paid in both, as ``trailguard detect`` pays it.
    """
    lake, start, end = Path(args["lake"]), _when(args["start"]), _when(args["end"])
    library = load_detections()
    started = time.perf_counter()
    limit = args.get("memory_limit", "")
    result = run_detections(
        DuckDBEngine(lake, memory_limit=limit), [d for d in library.values() if d.id in COVERED], start, end
    )
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    everything = run_detections(DuckDBEngine(lake, memory_limit=limit), library.values(), start, end)
    all_seconds = time.perf_counter() - started
    Path(args["ids_out"]).write_text(json.dumps(_finding_ids(result.findings)))
    return {
        "seconds": seconds,
        "findings": len(result.findings),
        "detections": len(result.runs),
        "all_seconds": all_seconds,
        "all_detections": len(everything.runs),
        "per_detection": {r.detection_id: round(r.duration_s, 3) for r in everything.runs},
        "errors": {r.detection_id: r.error for r in everything.runs if r.error},
    }


@step
def python_rules(args: Args) -> dict[str, Any]:
    """The same catalogue as per-event Python rules over the raw files (benchmarks/python_rules.py)."""
    dataset = Path(args["dataset"])
    params = {d.id: d.params() for d in load_detections().values()}
    cloudtrail = raw_files(dataset)
    found = PythonCatalogue(args["start_iso"], args["end_iso"], params)
    started = time.perf_counter()
    records = evaluate_files(
        cloudtrail,
        raw_files(dataset, "guardduty_findings"),
        found,
        progress=lambda n: progress(n, len(cloudtrail)),
    )
    ids = found.results()
    seconds = time.perf_counter() - started
    Path(args["ids_out"]).write_text(json.dumps({k: sorted(v) for k, v in sorted(ids.items())}))
    return {"seconds": seconds, "records": records, "eps": records / seconds}


@step
def raw_queries(args: Args) -> dict[str, Any]:
    """Detections as their own queries over the raw JSON: the way Athena query packs run.

    The engine's views are pointed at the raw files (same schema, same partition columns from the
    path), so every detection parses all the JSON again. Each such query costs about one full
    parse, whatever the detection, so only ``sample`` detections (the contract catalogue's first
    ones, in file order) are run and the whole library's time is extrapolated from their mean;
    ``sample`` 0 runs them all.
    """
    dataset, specs = Path(args["dataset"]), load_specs()
    engine = DuckDBEngine(Path(args["lake"]) / "_none")
    for logical, table in (("cloudtrail", "cloudtrail"), ("guardduty", "guardduty_findings")):
        files = [str(f) for f in raw_files(dataset, table)]
        engine.con.execute(f"CREATE OR REPLACE VIEW {logical} AS {raw_scan_sql(specs[table], files)}")
    library = list(load_detections().values())
    covered = [d for d in library if d.id in COVERED and d.tables == ("cloudtrail",)]
    chosen = covered[: args["sample"]] if args["sample"] else library
    per: dict[str, float] = {}
    for n, detection in enumerate(chosen, start=1):
        sql, _ = render_detection(detection, engine, _when(args["start"]), _when(args["end"]))
        per[detection.id] = round(engine.query(sql).duration_s, 3)
        progress(n, len(chosen))
    mean = sum(per.values()) / len(per)
    return {
        "seconds": sum(per.values()),
        "per_detection": per,
        "mean_s": mean,
        "covered_s": mean * len(COVERED),
        "library_s": mean * len(library),
        "library": len(library),
        "measured": len(per),
    }


@step
def window(args: Args) -> dict[str, Any]:
    """A scheduled tick: every detection over one hour of the 30 days, and the files it opened."""
    lake, dataset = Path(args["lake"]), Path(args["dataset"])
    start, end = _when(args["window_start"]), _when(args["window_end"])
    engine = DuckDBEngine(lake)
    detections = list(load_detections().values())
    started = time.perf_counter()
    run_detections(engine, detections, start, end)
    seconds = time.perf_counter() - started
    opened = 0
    for detection in detections:
        if "cloudtrail" in detection.tables:
            sql, _ = render_detection(detection, engine, start, end)
            scans = [s for s in engine.scans(sql) if s.function == "READ_PARQUET"]
            opened = max([opened, *(s.files_read for s in scans)])
    days = set(args["days"])
    lake_parts = sorted((lake / "cloudtrail").rglob("*.parquet"))
    in_window = [p for p in lake_parts if "/".join(p.parent.parts[-3:]) in days]
    raw = raw_files(dataset)
    raw_in_window = [p for p in raw if "/".join(p.parent.parts[-3:]) in days]
    return {
        "seconds": seconds,
        "files_read": opened,
        "window_files": len(in_window),
        "total_files": len(lake_parts),
        "window_bytes": _size(in_window),
        "total_bytes": _size(lake_parts),
        "raw_window_files": len(raw_in_window),
        "raw_total_files": len(raw),
        "raw_window_bytes": _size(raw_in_window),
        "raw_total_bytes": _size(raw),
    }


def main(argv: list[str]) -> int:
    name, args = argv[0], json.loads(argv[1])
    result = STEPS[name](args)
    print("result " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
