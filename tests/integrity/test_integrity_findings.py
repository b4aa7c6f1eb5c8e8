"""log_file_tampered: integrity problems as findings, delivered once by scheduled runs, summarized.

The session's small_org (tests/conftest.py: with its digests and its delivery gap) is shared;
each test tampers with its own copy. The runner here has every SQL detection disabled through
configuration, so a tick does only the validation under test.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from pipeline.cli.main import app
from pipeline.config import ConfigError, Settings
from pipeline.demo.digests import DEMO_BUCKET, demo_keys_file
from pipeline.integrity.findings import (
    DETECTION_ID,
    integrity_summary,
    problem_finding,
    public_keys_for,
)
from pipeline.integrity.validate import Problem, ValidationReport
from pipeline.paths import known_detection_ids
from pipeline.workflow import make_runner
from tests.helpers import SMALL_END, SMALL_START

START, END = SMALL_START, SMALL_END
NOW = datetime(2026, 11, 1, 16, 0, tzinfo=UTC)  # first tick validates 11:45-13:45, the next 12:45-14:45


@pytest.fixture
def demo(small_org_copy: Path) -> Path:
    """This test's own copy of the session's small_org (tests/conftest.py), with its key file beside it."""
    return small_org_copy


def settings_for(tmp: Path, **integrity) -> Settings:
    disabled = {i: {"enabled": False} for i in known_detection_ids()}
    integrity.setdefault("public_keys", str(demo_keys_file(tmp / "org")))  # small_org_copy's keys
    settings = Settings().with_overrides(data_dir=str(tmp / "data"), detections=disabled)
    settings.raw["integrity"].update(integrity)
    return settings


def tamper(root: Path, when: str = "20261101T13[0-3]") -> Path:
    """Flip one byte of a log file delivered at ``when`` (a glob: 13:00 to 13:39); returns it."""
    target = sorted(root.rglob(f"*_CloudTrail_*_{when}*.json.gz"))[0]
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    return target


def tick(settings: Settings, source: Path | str, output: Path, now: datetime):
    runner = make_runner(settings, str(source), output, str(output.parent / "state"))
    runner.integrity_source = str(source)
    try:
        return runner.tick(now)
    finally:
        runner.engine.close()


def delivered(output: Path) -> list[dict]:
    return [json.loads(line) for line in output.read_text().splitlines()] if output.exists() else []


def test_problem_becomes_a_stable_finding() -> None:
    file = ("/b/AWSLogs/o-abc123defg/111122223333/CloudTrail/eu-west-1/2026/11/01/"
            "111122223333_CloudTrail_eu-west-1_20261101T1205Z_AbCdEfGhIjKlMnOp.json.gz")
    report = ValidationReport("/b", START, END)
    one = problem_finding(Problem("modified_log_files", file, "SHA-256 differs"), report)
    again = problem_finding(Problem("modified_log_files", file, "another detail"), report)
    other = problem_finding(Problem("unlisted_log_files", file, "in no digest"), report)
    assert one.detection_id == DETECTION_ID and one.finding_id == again.finding_id != other.finding_id
    assert one.event_ids == [f"integrity:modified_log_files:{file}"]
    assert (one.account_id, one.region) == ("111122223333", "eu-west-1")
    assert one.first_seen == one.last_seen == "2026-11-01T12:05:00Z"
    assert (one.severity, other.severity) == ("critical", "high")
    assert one.runbook and one.context["detail"] == "SHA-256 differs" and one.attack
    tree = "/b/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/"
    digest = problem_finding(Problem("missing_digests", tree, "no digest covers ..."), report)
    assert (digest.account_id, digest.region, digest.first_seen) == ("111122223333", "us-east-1",
                                                                      "2026-11-01T00:00:00Z")


def test_summary_of_a_valid_and_a_tampered_period(demo: Path, tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    clean = integrity_summary(settings, str(demo), START, END)
    assert clean.checked and clean.ok and clean.status == "valid"
    assert clean.valid_digests > 0 and clean.valid_log_files > 0 and not clean.problems
    target = tamper(demo)
    sorted(demo.rglob("*_CloudTrail-Digest_*_20261101T150000Z.json.gz"))[0].unlink()
    broken = integrity_summary(settings, str(demo), START, END)
    assert broken.status == "INVALID" and broken.invalid_log_files == 1 and broken.invalid_digests == 1
    assert {(p.category, Path(p.file).name) for p in broken.problems} >= {("modified_log_files", target.name)}
    assert len(broken.gaps) == 1 and broken.gaps[0][0] is not None


def test_summary_without_digests_is_not_checked(tmp_path: Path) -> None:
    empty = tmp_path / "plain"
    (empty / "AWSLogs").mkdir(parents=True)
    summary = integrity_summary(settings_for(tmp_path), str(empty), START, END)
    assert (summary.checked, summary.status) == (False, "no digests")


def test_missing_key_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        public_keys_for(str(tmp_path), tmp_path / "absent.json", START, END)
    with pytest.raises(ConfigError, match="public_keys"):
        public_keys_for(str(tmp_path), None, START, END)


def test_scheduled_run_delivers_a_tampered_file_exactly_once(demo: Path, tmp_path: Path) -> None:
    target = tamper(demo)
    settings, output = settings_for(tmp_path), tmp_path / "out" / "findings.jsonl"
    output.parent.mkdir()
    first = tick(settings, demo, output, NOW)
    assert first.integrity.status == "INVALID" and first.integrity.problems == 1
    assert first.integrity.valid_digests > 0 and first.integrity.new_findings == 1
    assert [t.detection_id for t in first.ran] == [DETECTION_ID] and not first.errors
    later = tick(settings, demo, output, NOW.replace(hour=17))  # overlapping window: same problem again
    assert later.integrity.problems == 1 and later.integrity.new_findings == 0
    lines = delivered(output)
    assert [(f["detection_id"], f["severity"]) for f in lines] == [(DETECTION_ID, "critical")]
    assert lines[0]["context"]["file"].endswith(target.name)


def test_scheduled_run_on_valid_logs_delivers_nothing(demo: Path, tmp_path: Path) -> None:
    output = tmp_path / "findings.jsonl"
    report = tick(settings_for(tmp_path), demo, output, NOW)
    assert report.integrity.status == "valid" and report.integrity.valid_log_files > 0
    assert not delivered(output)


def test_validation_can_be_switched_off(demo: Path, tmp_path: Path) -> None:
    tamper(demo)
    output = tmp_path / "findings.jsonl"
    report = tick(settings_for(tmp_path, validate=False), demo, output, NOW)
    assert report.integrity.status == "off" and not report.ran and not delivered(output)


def test_run_cli_prints_the_validation_result(demo: Path, tmp_path: Path) -> None:
    tamper(demo)
    config = tmp_path / "trailguard.toml"
    disabled = "\n".join(f"[detections.{i}]\nenabled = false" for i in sorted(known_detection_ids()))
    keys = f'[integrity]\npublic_keys = "{demo_keys_file(demo)}"'
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n{keys}\n{disabled}\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["run", "--now", "2026-11-01T16:00:00Z", "--source", str(demo),
                                      "--output", str(tmp_path / "f.jsonl"), "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "log file validation" in result.output and "INVALID" in result.output
    assert "1 new log_file_tampered finding(s)" in result.output


def upload(root: Path, s3, bucket: str) -> None:
    """The demo as CloudTrail writes it to S3: each digest's signature in its object metadata."""
    s3.create_bucket(Bucket=bucket)
    for path in sorted((root / "AWSLogs").rglob("*.gz")):
        sig = path.with_name(path.name + ".sig")
        extra = {"Metadata": {"signature": sig.read_text().strip()}} if sig.exists() else {}
        s3.put_object(Bucket=bucket, Key=path.relative_to(root).as_posix(), Body=path.read_bytes(), **extra)


@pytest.mark.slow  # uploads the whole organization to S3 (moto in-process), then ticks over it
def test_scheduled_run_on_s3(demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    target = tamper(demo)
    settings = settings_for(tmp_path, public_keys=str(demo_keys_file(demo)))  # moto has no ListPublicKeys
    output = tmp_path / "out" / "findings.jsonl"
    output.parent.mkdir()
    with mock_aws():
        s3 = boto3.client("s3")
        upload(demo, s3, DEMO_BUCKET)  # the bucket the demo digests name
        summary = integrity_summary(settings, f"s3://{DEMO_BUCKET}", START, END, s3_client=s3)
        assert summary.status == "INVALID" and summary.invalid_log_files == 1 and summary.valid_digests > 0
        report = tick(settings, f"s3://{DEMO_BUCKET}", output, NOW)
        s3.create_bucket(Bucket="plain-trail")
        s3.put_object(Bucket="plain-trail", Key=target.relative_to(demo).as_posix(), Body=target.read_bytes())
        plain = integrity_summary(settings, "s3://plain-trail", START, END, s3_client=s3)
    assert report.integrity.status == "INVALID" and report.integrity.new_findings == 1
    assert [f["context"]["file"] for f in delivered(output)] == [
        f"s3://{DEMO_BUCKET}/{target.relative_to(demo).as_posix()}"
    ]
    assert plain.status == "no digests"
