"""``make bench``: trailguard against the alternatives, on the same files, in one run.

Generates (once, cached by size and seed) a demo organization in the CloudTrail bucket layout
over 30 days, then runs each step in its own process (``benchmarks/steps.py``) and reads that
process's peak memory from ``wait4``:

- ingest (raw ``.json.gz`` -> Parquet lake) beside DuckDB's bare scan of the same files with the
  full schema and beside a plain Python gzip + json pass;
- the whole catalogue over the lake, beside the same catalogue as per-event Python rules over
  the raw files (their record ids are compared) and beside each detection as its own query over
  the raw JSON;
- a 1-hour scheduled window over the 30 days: the files and bytes it reads against the total.

The last line is ``key=value`` pairs for scripts. ``BENCH_EVENTS`` (default 2,000,000),
``BENCH_SEED``, ``BENCH_DIR`` (default ``.trailguard/bench``), ``BENCH_SKIP`` (comma-separated
steps to leave out, e.g. ``raw_queries``) and ``BENCH_RAW_SAMPLE`` (detections run over the raw
JSON, default 3; each is a full parse, the rest is extrapolated; 0 runs all) and ``BENCH_MEMORY_LIMIT``
(DuckDB's memory_limit for the catalogue, as ``[duckdb] memory_limit``; default DuckDB's own) set it up.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipeline.engines.templating import iso_utc, partition_days

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 11, 1, tzinfo=UTC)
STEP_TITLES = {
    "generate": "generate the dataset",
    "ingest": "ingest (trailguard)",
    "ingest_parallel": "ingest variant: 2 partitions at a time",
    "bare_scan": "DuckDB bare scan, full schema",
    "python_pass": "Python gzip + json pass",
    "catalogue": "catalogue over the lake (trailguard)",
    "python_rules": "catalogue as per-event Python rules",
    "raw_queries": "each detection over the raw JSON",
    "window": "catalogue over a 1-hour window",
}


@dataclass
class StepResult:
    name: str
    result: dict[str, Any] = field(default_factory=dict)
    peak_mb: float = 0.0
    wall_s: float = 0.0


class BenchError(RuntimeError):
    """A step that failed; the message names it and ends with its last lines of output."""


def run_step(name: str, args: dict[str, Any], progress: Progress, log: Path) -> StepResult:
    """Run one step in a child process; its ``progress`` lines drive the bar, ``wait4`` gives its RSS."""
    task = progress.add_task(STEP_TITLES[name], total=None)
    started = datetime.now(UTC)
    with open(log, "a", encoding="utf-8") as err:
        err.write(f"--- {name} {json.dumps(args)}\n")
        err.flush()
        child = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.steps", name, json.dumps(args)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
        result: dict[str, Any] | None = None
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith("progress "):
                done, total = (int(x) for x in line.split()[1:3])
                progress.update(task, completed=done, total=total)
            elif line.startswith("result "):
                result = json.loads(line.removeprefix("result "))
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    progress.update(task, completed=1, total=1)
    if child.returncode != 0 or result is None:
        tail = log.read_text(encoding="utf-8").splitlines()[-5:]
        raise BenchError(f"step {name} failed (exit {child.returncode}); see {log}:\n" + "\n".join(tail))
    return StepResult(
        name, result, peak_mb=usage.ru_maxrss / 1024, wall_s=(datetime.now(UTC) - started).total_seconds()
    )


def compare_ids(sql_path: Path, python_path: Path) -> dict[str, tuple[int, int, int, int]]:
    """Per detection: (SQL ids, Python ids, only in SQL, only in Python)."""
    sql, python = json.loads(sql_path.read_text()), json.loads(python_path.read_text())
    out = {}
    for detection in sorted(set(sql) | set(python)):
        a, b = set(sql.get(detection, ())), set(python.get(detection, ()))
        out[detection] = (len(a), len(b), len(a - b), len(b - a))
    return out


def plan(events: int, seed: int, days: int, base: Path) -> dict[str, dict[str, Any]]:
    """Arguments of every step; one place names the dataset, lake and windows."""
    tag = f"{events}-seed{seed}-{days}d"
    dataset, lake, work = base / f"demo-{tag}", base / f"lake-{tag}", base / f"work-{tag}"
    work.mkdir(parents=True, exist_ok=True)
    end = START + timedelta(days=days)
    hour = START + timedelta(days=days // 2, hours=12)
    full = {"start": START.isoformat(), "end": end.isoformat()}
    common = {"dataset": str(dataset), "lake": str(lake)}
    return {
        "generate": {"dataset": str(dataset), "events": events, "seed": seed, "days": days},
        "ingest": common,
        "ingest_parallel": common,
        "bare_scan": common,
        "python_pass": common,
        "catalogue": {
            **common,
            **full,
            "ids_out": str(work / "sql_ids.json"),
            "memory_limit": os.environ.get("BENCH_MEMORY_LIMIT", ""),
        },
        "python_rules": {
            **common,
            "start_iso": iso_utc(START),
            "end_iso": iso_utc(end),
            "ids_out": str(work / "python_ids.json"),
        },
        "raw_queries": {**common, **full, "sample": int(os.environ.get("BENCH_RAW_SAMPLE", 3))},
        "window": {
            **common,
            "window_start": hour.isoformat(),
            "window_end": (hour + timedelta(hours=1)).isoformat(),
            "days": partition_days(hour, hour + timedelta(hours=1)),
        },
    }


def summary_line(r: dict[str, StepResult]) -> str:
    """The machine-readable last line; a step left out gives ``nan``."""

    def get(step: str, key: str) -> float:
        return float(r[step].result[key]) if step in r else float("nan")

    ingest_eps, bare_eps = get("ingest", "eps"), get("bare_scan", "eps")
    catalogue_s, python_s = get("catalogue", "seconds"), get("python_rules", "seconds")
    pairs = {
        "events": int(get("ingest", "records")) if "ingest" in r else 0,
        "ingest_eps": f"{ingest_eps:.0f}",
        "bare_scan_eps": f"{bare_eps:.0f}",
        "ingest_ratio": f"{ingest_eps / bare_eps:.2f}",
        "catalogue_s": f"{catalogue_s:.2f}",
        "python_s": f"{python_s:.2f}",
        "speedup": f"{python_s / catalogue_s:.1f}",
        "window_files": int(get("window", "files_read")) if "window" in r else 0,
        "total_files": int(get("window", "total_files")) if "window" in r else 0,
        "peak_mb": f"{max(s.peak_mb for s in r.values()):.0f}",
    }
    return " ".join(f"{k}={v}" for k, v in pairs.items())


def _mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


def report(
    console: Console, r: dict[str, StepResult], ids: dict[str, tuple[int, int, int, int]] | None
) -> None:
    table = Table(title="trailguard bench")
    for column in ("step", "figure", "seconds", "peak MB"):
        table.add_column(column, justify="left" if column in ("step", "figure") else "right")
    figures = {
        "generate": lambda x: (
            f"{x['files']:,} files, {_mb(x['bytes'])}" + (" (cached)" if x["cached"] else "")
        ),
        "ingest": lambda x: f"{x['eps']:,.0f} events/s -> {x['lake_files']:,} parts, {_mb(x['lake_bytes'])}",
        "bare_scan": lambda x: f"{x['eps']:,.0f} events/s (with reshape: {x['reshape_eps']:,.0f}/s)",
        "python_pass": lambda x: f"{x['eps']:,.0f} events/s",
        "ingest_parallel": lambda x: f"{x['eps']:,.0f} events/s",
        "catalogue": lambda x: (
            f"{x['detections']} detections, {x['findings']} findings "
            f"(whole library: {x['all_detections']} in {x['all_seconds']:.2f} s)"
        ),
        "python_rules": lambda x: f"{x['eps']:,.0f} events/s",
        "raw_queries": lambda x: (
            f"{x['measured']} run, {x['mean_s']:.1f} s each: the 16 of the catalogue "
            f"~{x['covered_s']:.0f} s, the library of {x['library']} ~{x['library_s']:.0f} s"
        ),
        "window": lambda x: (
            f"lake {x['files_read']}/{x['total_files']} files, "
            f"{_mb(x['window_bytes'])}/{_mb(x['total_bytes'])}; raw {x['raw_window_files']}/"
            f"{x['raw_total_files']} files, {_mb(x['raw_window_bytes'])}/{_mb(x['raw_total_bytes'])}"
        ),
    }
    for name, step in r.items():
        seconds = step.result.get("seconds", step.wall_s)
        table.add_row(STEP_TITLES[name], figures[name](step.result), f"{seconds:.2f}", f"{step.peak_mb:.0f}")
    console.print(table)
    if ids is not None:
        diff = {k: v for k, v in ids.items() if v[2] or v[3]}
        if diff:
            for detection, (a, b, only_sql, only_py) in diff.items():
                console.print(
                    f"[yellow]ids differ[/] {detection}: SQL {a}, Python {b}, "
                    f"only SQL {only_sql}, only Python {only_py}"
                )
        else:
            total = sum(v[0] for v in ids.values())
            console.print(
                f"SQL catalogue and Python rules agree: {total} record ids in {len(ids)} detections"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=int(os.environ.get("BENCH_EVENTS", 2_000_000)))
    parser.add_argument("--seed", type=int, default=int(os.environ.get("BENCH_SEED", 7)))
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument(
        "--dir", type=Path, default=Path(os.environ.get("BENCH_DIR", ROOT / ".trailguard" / "bench"))
    )
    parser.add_argument("--skip", default=os.environ.get("BENCH_SKIP", ""))
    ns = parser.parse_args(argv)
    skip = {s.strip() for s in ns.skip.split(",") if s.strip()}
    unknown = skip - set(STEP_TITLES)
    if unknown or ns.events < 5_000 or ns.days < 2:
        print(
            f"bench: bad arguments: unknown steps {sorted(unknown)}, or events < 5000, or days < 2",
            file=sys.stderr,
        )
        return 2
    steps = plan(ns.events, ns.seed, ns.days, ns.dir.resolve())
    log = ns.dir.resolve() / "bench.log"
    console = Console(stderr=True)
    results: dict[str, StepResult] = {}
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, console=console) as progress:
            for name, args in steps.items():
                if name not in skip:
                    results[name] = run_step(name, args, progress, log)
                    record = {k: {"result": v.result, "peak_mb": v.peak_mb} for k, v in results.items()}
                    Path(steps["catalogue"]["ids_out"]).with_name("results.json").write_text(
                        json.dumps(record)
                    )
    except BenchError as exc:
        console.print(f"[red]{exc}[/]", markup=True, highlight=False)
        return 1
    ids = None
    if "catalogue" in results and "python_rules" in results:
        ids = compare_ids(Path(steps["catalogue"]["ids_out"]), Path(steps["python_rules"]["ids_out"]))
    report(Console(), results, ids)
    print(summary_line(results), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
