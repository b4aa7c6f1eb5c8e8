"""`make package`: both Lambda zips, byte-for-byte reproducible, with what the handlers read at run time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from scripts.package_lambda import runtime_site
from tests.deploy.support import ROOT, build_zips
from tests.helpers import poisoned_source

HANDLER_FILES = {"trailguard-runner.zip": "pipeline/lambda_handler.py",
                 "trailguard-response.zip": "pipeline/response/handler.py"}


def test_same_checkout_same_bytes(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    build_zips(first)
    # A touched file (new mtime, as after a git checkout) must not change the zip.
    os.utime(ROOT / "pipeline" / "lambda_handler.py")
    build_zips(second)
    for name in HANDLER_FILES:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_entries_sorted_with_fixed_time_and_mode(tmp_path: Path) -> None:
    build_zips(tmp_path)
    for name, handler in HANDLER_FILES.items():
        infos = zipfile.ZipFile(tmp_path / name).infolist()
        names = [i.filename for i in infos]
        assert names == sorted(names)
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        assert {i.external_attr >> 16 for i in infos} == {0o100644}
        assert handler in names
        # pipeline/paths.py finds queries/, glue/ and rules/ beside the package: they travel with it.
        assert "queries/detections/root_account_usage.sql" in names and "glue/cloudtrail.yaml" in names
        assert "rules/incidents/same_actor.yaml" in names
        assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)


def test_package_response_still_builds_the_response_zip(tmp_path: Path) -> None:
    target = tmp_path / "r.zip"
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "package_response.py"), "--no-deps",
                           "--output", str(target)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "pipeline/response/handler.py" in zipfile.ZipFile(target).namelist()
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "\npackage-response: package\n" in makefile


def test_the_runner_path_does_not_import_duckdb() -> None:
    """The plain Athena path never loads DuckDB: a runner built ``--no-deps`` on a layer without
    DuckDB (the AWS SDK for pandas layer) still ticks, the plain way."""
    code = ("import sys\nfrom pipeline.config import Settings\nfrom pipeline.workflow import make_runner\n"
            "import pipeline.lambda_handler, pipeline.response.handler\n"
            "s = Settings().with_overrides(engine='athena', source='s3://b/x')\n"
            "s.raw['athena'].update(output_location='s3://b/q/', region='us-east-1')\n"
            "make_runner(s, 's3://b/x')\nprint('duckdb' in sys.modules)\n")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, env=env,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


@pytest.mark.slow
def test_the_runner_zip_fits_lambda_and_ticks_the_hot_tier_from_itself(tmp_path: Path) -> None:
    """The runner zip with its dependencies (DuckDB included, libraries stripped) is under
    Lambda's 250 MB unzipped, and one hot-tier tick runs from it alone: a Python with no
    site-packages, the zip's contents and what the runtime ships. A pruned or stripped library a
    tick needs, or a project folder left behind, fails here rather than on the first scheduled run."""
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "package_lambda.py"), "--only", "runner",
                           "--dist", str(tmp_path / "dist")], capture_output=True, text=True, check=False,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    archive = zipfile.ZipFile(tmp_path / "dist" / "trailguard-runner.zip")
    unzipped = sum(info.file_size for info in archive.infolist())
    assert unzipped <= 250 * 1024 * 1024, unzipped
    names = archive.namelist()
    assert any(n.startswith("_duckdb.") for n in names) and "pyarrow/libarrow_s3.so.2600" not in names
    task = tmp_path / "task"
    archive.extractall(task)
    runtime = runtime_site(tmp_path / "runtime")
    source = poisoned_source(tmp_path / "bucket")  # a root console login without MFA, and two bad records
    data = tmp_path / "lambda-tmp"
    code = (f"import json, sys\nsys.path[:0] = [{str(task)!r}, {str(runtime)!r}]\n"
            "from pipeline.lambda_handler import handler\n"
            "summary = handler({'time': '2026-01-15T10:30:00Z'})\n"
            "files = sorted({getattr(m, '__file__', None) or '' for m in list(sys.modules.values())})\n"
            "print(json.dumps({'ran': summary['ran'], 'files': files}))\n")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
           "TRAILGUARD_ENGINE": "duckdb", "TRAILGUARD_SOURCE": str(source), "TRAILGUARD_DATA_DIR": str(data),
           "TRAILGUARD_SCHEDULE_HOT_TIER": "true", "TRAILGUARD_SCHEDULE_FIRST_RUN_LOOKBACK_MINUTES": "120"}
    tick = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, check=False,
                          env=env, cwd=tmp_path, timeout=300)
    assert tick.returncode == 0, tick.stderr[-3000:]
    result = json.loads(tick.stdout.strip().splitlines()[-1])
    new = {t["detection_id"]: t["new"] for t in result["ran"]}
    assert new["root_account_usage"] >= 1 and new["console_login_without_mfa"] >= 1, new
    assert list((data / "lake").rglob("cloudtrail_hot/**/*.parquet")), "the tick did not write the hot tier"
    stdlib = (sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"])
    outside = [f for f in result["files"]
               if f and not f.startswith((str(task), str(runtime), *stdlib)) and "/lib-dynload/" not in f]
    assert not outside, f"loaded from outside the zip and the runtime: {outside[:5]}"
