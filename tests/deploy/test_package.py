"""`make package`: both Lambda zips, byte-for-byte reproducible, with what the handlers read at run time."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.deploy.support import ROOT, build_zips

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
        # pipeline/paths.py finds queries/ and glue/ beside the package: they travel with it.
        assert "queries/detections/root_account_usage.sql" in names and "glue/cloudtrail.yaml" in names
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
    """What keeps the runner's zip under Lambda's 250 MB: the Athena path never loads DuckDB."""
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
