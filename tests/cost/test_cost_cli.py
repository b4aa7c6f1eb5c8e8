"""Volumes measured on a small generated demo against an independent count (gzip + json), and
``trailguard cost`` end to end: no arguments after a demo, CSV output, exit codes."""

from __future__ import annotations

import gzip
import json
import shutil
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.cli.main import app
from pipeline.config import Settings
from pipeline.cost.period import month_period, months_with_data
from pipeline.cost.volumes import SMALL_OBJECT_BYTES, measure

RUNNER = CliRunner()


@pytest.fixture(scope="module")
def workdir(small_org, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder laid out as after ``trailguard demo``: ./demo (a copy of the session's small_org,
    tests/conftest.py), with the lake under ./.trailguard."""
    root = tmp_path_factory.mktemp("costdemo")
    shutil.copytree(small_org.root, root / "demo")
    return root


def _category(record: dict) -> str:
    """CloudTrail's billing category, decided independently of the SQL under test."""
    kind = record.get("eventCategory")
    if kind in ("NetworkActivity", "Insight"):
        return {"NetworkActivity": "network_activity", "Insight": "insight"}[kind]
    if kind == "Data" or record.get("managementEvent") is False:
        return "s3_data" if record.get("eventSource") == "s3.amazonaws.com" else "other_data"
    return "management"


def independent_counts(root: Path, month: str) -> Counter:
    counts: Counter = Counter()
    for path in root.rglob("*.json.gz"):
        parts = path.relative_to(root).parts
        if "CloudTrail" not in parts:
            continue
        at = parts.index("CloudTrail")
        account, region = parts[at - 1], parts[at + 1]
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for record in json.load(handle)["Records"]:
                if record["eventTime"].startswith(month):
                    counts[(account, region, record["eventTime"][:10], _category(record))] += 1
    return counts


def test_measured_volumes_match_an_independent_count(workdir: Path):
    settings = Settings().with_overrides(
        data_dir=str(workdir / ".trailguard")
    )  # the CLI tests reuse the lake
    measured = measure(settings, str(workdir / "demo"), month_period("2026-11"))
    expected = independent_counts(workdir / "demo", "2026-11")
    got = {tuple(r[:4]): r[4] for r in measured.events.itertuples(index=False)}
    assert got == dict(expected)
    assert measured.events["events"].dtype == "int64"
    assert isinstance(measured.events["account_id"].dtype, pd.CategoricalDtype)
    assert measured.days_observed == 2 and measured.projection == pytest.approx(15.0)
    # Objects: every CloudTrail and GuardDuty log file of the month's delivery days, with its size.
    files = [
        p
        for p in (workdir / "demo").rglob("*.gz")
        if ("CloudTrail" in p.parts or "GuardDuty" in p.parts) and "/2026/11/" in p.as_posix()
    ]
    assert measured.objects["objects"].sum() == len(files)
    assert measured.objects["bytes"].sum() == sum(p.stat().st_size for p in files)
    small = [p for p in files if p.stat().st_size < SMALL_OBJECT_BYTES]
    assert measured.objects["small_objects"].sum() == len(small)


def test_months_with_data_reads_folders_only(workdir: Path):
    assert months_with_data(str(workdir / "demo")) == ["2026-11"]


def invoke(workdir: Path, monkeypatch: pytest.MonkeyPatch, *args: str):
    monkeypatch.chdir(workdir)
    return RUNNER.invoke(app, ["cost", *args])


def test_cost_runs_with_no_arguments_after_a_demo(workdir: Path, monkeypatch: pytest.MonkeyPatch):
    result = invoke(workdir, monkeypatch)
    assert result.exit_code == 0, result.output
    assert "GuardDuty per account, region and data source" in result.output
    csv = workdir / ".trailguard" / "cost" / "cost-2026-11.csv"
    lines = pd.read_csv(csv, dtype={"account_id": str})
    total = lines["cost_usd"].sum()
    assert f"total {total:,.2f} USD per 30 days" in result.output
    management = lines[lines["item"] == "guardduty.management_events"]
    counts = independent_counts(workdir / "demo", "2026-11")
    seen = sum(n for (_, _, _, category), n in counts.items() if category == "management")
    assert management["observed"].sum() == seen
    assert management["cost_usd"].sum() == pytest.approx(seen * 15 * 4.0 / 1e6)
    assert set(management["account_id"]) == {k[0] for k in counts}


def test_cost_writes_the_csv_where_asked(workdir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    out = tmp_path / "nested" / "cost.csv"
    result = invoke(workdir, monkeypatch, "--month", "2026-11", "--out", str(out), "--source", "demo")
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(out)) > 0


@pytest.mark.parametrize("month", ["2026-13", "11-2026", "next"])
def test_bad_month_exits_2_with_one_line(workdir: Path, monkeypatch: pytest.MonkeyPatch, month: str):
    result = invoke(workdir, monkeypatch, "--month", month)
    assert result.exit_code == 2
    assert f"--month {month!r} is not a month like 2026-11" in result.output
    assert "Traceback" not in result.output


def test_month_without_logs_exits_1(workdir: Path, monkeypatch: pytest.MonkeyPatch):
    result = invoke(workdir, monkeypatch, "--month", "2025-01")
    assert result.exit_code == 1
    assert "no CloudTrail records in 2025-01" in result.output


def test_missing_source_and_bad_settings_exit_2(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    result = invoke(workdir, monkeypatch, "--source", str(tmp_path / "nowhere"))
    assert result.exit_code == 2 and "no such folder" in result.output
    config = tmp_path / "trailguard.toml"
    config.write_text('[cost]\nfeatures = ["s3_protection", "quantum_protection"]\n')
    result = invoke(workdir, monkeypatch, "--config", str(config))
    assert result.exit_code == 2 and "cost.features: unknown 'quantum_protection'" in result.output


def test_usage_flag_prints_guardduty_figures_beside_the_estimate(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
):
    import boto3
    from botocore.stub import Stubber

    real_client = boto3.client
    stubs: list[Stubber] = []

    def fake_client(service: str, region_name: str | None = None, **_):
        assert service == "guardduty"
        client = real_client(
            service, region_name=region_name, aws_access_key_id="x", aws_secret_access_key="x"
        )
        stub = Stubber(client)
        stub.add_response("list_detectors", {"DetectorIds": ["det-1"]})
        for _account in range(4):  # the demo's four accounts, one call each
            stub.add_response(
                "get_usage_statistics",
                {
                    "UsageStatistics": {
                        "SumByFeature": [{"Feature": "CLOUD_TRAIL", "Total": {"Amount": "1.25"}}]
                    }
                },
            )
        stub.activate()
        stubs.append(stub)
        return client

    monkeypatch.setattr(boto3, "client", fake_client)
    result = invoke(workdir, monkeypatch, "--usage")
    assert result.exit_code == 0, result.output
    assert "GuardDuty GetUsageStatistics (last 30 days) beside the estimate" in result.output
    assert len(stubs) == 3  # one client per region of the estimate
    for stub in stubs:
        stub.assert_no_pending_responses()
    rows = [line for line in result.output.splitlines() if "guardduty.management_events" in line]
    assert len(rows) == 3 and all(line.rstrip(" │").endswith("5.00") for line in rows)  # 4 accounts x $1.25
