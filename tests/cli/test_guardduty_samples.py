"""Issue 17 item 13: GuardDuty sample findings (CreateSampleFindings) are marked, kept out of sinks
by default, and a suppression can name them."""

from __future__ import annotations

import json

import pandas as pd

from pipeline.config import load_settings
from pipeline.detections.suppressions import suppressed_findings
from pipeline.findings.model import Finding
from pipeline.sinks.factory import build_sinks
from tests.helpers import invoke

WINDOW = ("--since", "2026-11-01", "--until", "2026-11-03", "-d", "guardduty_finding", "-o", "-")


def _detect() -> list[dict]:
    result = invoke("detect", *WINDOW)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def test_samples_are_marked_and_can_be_suppressed(demo):
    findings = _detect()
    samples = [f for f in findings if f["context"].get("sample")]
    real = [f for f in findings if not f["context"].get("sample")]
    assert samples and real
    assert all(f["title"].startswith("[sample] ") for f in samples)
    assert not any(f["title"].startswith("[sample]") for f in real)
    (demo / "trailguard.toml").write_text(
        '[[suppressions]]\ndetection = "guardduty_finding"\nsamples = true\n'
        'reason = "GuardDuty test data (CreateSampleFindings)"\nexpires = 2099-01-01\n'
    )
    after = _detect()
    assert {f["finding_id"] for f in after} == {f["finding_id"] for f in real}
    settings = load_settings(demo / "trailguard.toml")
    frame = pd.DataFrame(findings)
    covered = suppressed_findings(settings, frame)
    assert set(covered) == {f["finding_id"] for f in samples}
    (demo / "trailguard.toml").write_text(
        '[[suppressions]]\ndetection = "guardduty_finding"\nsamples = "yes"\n'
        'reason = "r"\nexpires = 2099-01-01\n'
    )
    result = invoke("detect", *WINDOW)
    assert result.exit_code == 2 and "samples: only samples = true" in result.output


def test_sinks_skip_samples_unless_asked(tmp_path):
    base = dict(detection_id="guardduty_finding", finding_id="f1", severity="high", title="t",
                event_ids=["e"], account_id="1", region="r", principal="p", first_seen="2026-11-01T00:00:00Z",
                last_seen="2026-11-01T00:00:00Z", event_count=1)
    sample = Finding(**base, context={"sample": True})
    real = Finding(**base, context={"sample": False})
    config = tmp_path / "t.toml"
    config.write_text(f'[[sinks]]\ntype = "jsonl"\npath = "{tmp_path / "a.jsonl"}"\n'
                      f'[[sinks]]\ntype = "jsonl"\nname = "all"\npath = "{tmp_path / "b.jsonl"}"\n'
                      'samples = true\n')
    default, everything = build_sinks(load_settings(config, environ={}), environ={})
    assert sample.is_sample and not real.is_sample
    assert default.accepts(real) and not default.accepts(sample)
    assert everything.accepts(real) and everything.accepts(sample)
