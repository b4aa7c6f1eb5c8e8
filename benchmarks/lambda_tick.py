"""Lambda sizing, measured: hot-tier ticks run from the unzipped runner zip, as Lambda runs them.

Builds the runner zip (``scripts/package_lambda.py``), unzips it, and runs each tick in a fresh
Python with no site-packages: the zip's contents plus what the Lambda runtime ships, the
environment the Terraform module gives the function (Athena engine, state, findings store and
lake on S3, ``hot_tier = "auto"``), against S3 on a moto server in this process, so the memory
measured is the tick's own. ``/tmp`` is kept from tick to tick, as in a warm function. Objects
land in the bucket at the time in their name, every detection is enabled, log file validation is
off (moto has no CloudTrail public keys). The function's memory size is in the environment, as
Lambda sets it (``AWS_LAMBDA_FUNCTION_MEMORY_SIZE``: DuckDB takes half); nothing enforces it
here, so compare the peak with it.

    .venv/bin/python -m benchmarks.lambda_tick --org DIR [--at TIME] [--ticks 5] [--memory-mb 1024]

``DIR`` is a generated organization (``trailguard demo --out DIR``, or ``generate_demo``). Prints a
markdown table: per tick its time, peak memory (RSS), ``/tmp`` in use after it, and the CloudTrail
delivered since the tick before. The first tick is a first run (it ingests its look-back).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.incremental_athena import REGION, TICK, Replay, _on_time
from pipeline.times import iso_z, parse_iso
from scripts.package_lambda import runtime_site

ROOT = Path(__file__).resolve().parents[1]
BUCKET = "trail"
# One tick in the Lambda-shaped interpreter: the handler, then its own peak memory.
CHILD = """
import json, resource, sys, time
sys.path[:0] = [sys.argv[1], sys.argv[2]]
began = time.perf_counter()
from pipeline.lambda_handler import handler
imported = time.perf_counter()
summary = handler({"time": sys.argv[3]})
print(json.dumps({"import_s": imported - began, "tick_s": time.perf_counter() - imported,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "ran": len(summary["ran"]), "new": sum(t["new"] for t in summary["ran"])}))
"""


def unzipped_runner(work: Path) -> Path:
    """Build the runner zip and unzip it, as Lambda does, into ``work/task``."""
    dist = work / "dist"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "package_lambda.py"), "--only", "runner",
                    "--dist", str(dist)], check=True, capture_output=True)
    task = work / "task"
    zipfile.ZipFile(dist / "trailguard-runner.zip").extractall(task)
    return task


def function_env(manifest: dict[str, Any], endpoint: str, data: Path, memory_mb: int) -> dict[str, str]:
    """The runner's environment as deploy/terraform/lambda.tf sets it, pointed at moto."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(data.parent),
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "TRAILGUARD_ENGINE": "athena",
        "TRAILGUARD_SOURCE": f"s3://{BUCKET}",
        "TRAILGUARD_ORG_ID": manifest["org_id"],
        "TRAILGUARD_STATE": f"s3://{BUCKET}/trailguard/state",
        "TRAILGUARD_FINDINGS_STORE": f"s3://{BUCKET}/trailguard/findings",
        "TRAILGUARD_DATA_DIR": str(data),
        "TRAILGUARD_CATALOG_LAKE_URI": f"s3://{BUCKET}/lake",
        "TRAILGUARD_CATALOG_ACCOUNTS": json.dumps([a["id"] for a in manifest["accounts"]]),
        "TRAILGUARD_CATALOG_REGIONS": json.dumps(list(manifest["regions"])),
        "TRAILGUARD_SCHEDULE_HOT_TIER": "auto",
        "TRAILGUARD_ATHENA_WORKGROUP": "primary",
        "TRAILGUARD_ATHENA_REGION": REGION,
        "TRAILGUARD_ATHENA_OUTPUT_LOCATION": f"s3://{BUCKET}/trailguard/athena-results/",
        "TRAILGUARD_INTEGRITY_VALIDATE": "false",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),  # as Lambda sets it
    }


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0


def measure(org: Path, first: datetime, ticks: int, memory_mb: int) -> list[dict[str, Any]]:
    import boto3
    from moto.server import ThreadedMotoServer

    from tests.helpers import availability

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    manifest = json.loads((org / "manifest.json").read_text(encoding="utf-8"))
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="trailguard-lambda-bench-") as tmp:
            work = Path(tmp)
            task, runtime = unzipped_runner(work), runtime_site(work / "runtime")
            s3 = boto3.client("s3", region_name=REGION, endpoint_url=endpoint, aws_access_key_id="testing",
                              aws_secret_access_key="testing")
            s3.create_bucket(Bucket=BUCKET)
            replay = Replay(org, s3, BUCKET, availability=lambda p: _on_time(availability, p))
            data = work / "lambda-tmp"
            env = function_env(manifest, endpoint, data, memory_mb)
            for n in range(ticks):
                now = first + n * TICK
                before = replay.delivered_cloudtrail
                replay.advance(now, until_day_end=now + timedelta(days=365))
                command = [sys.executable, "-S", "-c", CHILD, str(task), str(runtime), iso_z(now)]
                done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=work, check=False)
                if done.returncode != 0:
                    raise SystemExit(f"tick {iso_z(now)} failed: {done.stderr[-2000:]}")
                row = json.loads(done.stdout.strip().splitlines()[-1])
                row.update(now=iso_z(now), tmp_bytes=folder_bytes(data),
                           delivered=replay.delivered_cloudtrail - before)
                rows.append(row)
                print(json.dumps(row), file=sys.stderr)
    finally:
        server.stop()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--org", type=Path, required=True, help="a generated organization's folder")
    parser.add_argument("--at", default=None, help="the first tick (default: noon of the org's second day)")
    parser.add_argument("--ticks", type=int, default=5)
    parser.add_argument("--memory-mb", type=int, default=1024,
                        help="the function's memory, as Lambda tells it (Terraform's runner_memory_mb)")
    args = parser.parse_args(argv)
    if not (args.org / "manifest.json").is_file():
        parser.error(f"--org {args.org}: no manifest.json (generate one with trailguard demo --out)")
    if args.ticks < 1:
        parser.error("--ticks must be at least 1")
    if args.at:
        first = parse_iso(args.at)
    else:
        start = parse_iso(json.loads((args.org / "manifest.json").read_text(encoding="utf-8"))["start"])
        first = start + timedelta(days=1, hours=12)
    rows = measure(args.org, first, args.ticks, args.memory_mb)
    print("| tick | CloudTrail delivered since the tick before | time | import | peak RSS | /tmp after |")
    print("|---|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['now']} | {row['delivered'] / 1e6:.1f} MB | {row['tick_s']:.1f} s | "
              f"{row['import_s']:.1f} s | {row['peak_rss_mb']:.0f} MB | {row['tmp_bytes'] / 1e6:.1f} MB |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
