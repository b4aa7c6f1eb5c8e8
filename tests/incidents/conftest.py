"""One labelled demo for the incident tests: generated, detected and stored once per session."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from pipeline.config import Settings
from pipeline.demo import generate_demo
from pipeline.demo.manifest import DemoManifest
from pipeline.findings.model import Finding
from pipeline.workflow import detect, record_findings


@dataclass
class Demo:
    settings: Settings
    manifest: DemoManifest
    findings: list[Finding]
    source: str


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> Demo:
    """Fourteen days (the scenarios spread over the period as in `make demo`), 30,000 records."""
    root = tmp_path_factory.mktemp("incidents-demo")
    manifest = generate_demo(root / "org", seed=11, events=30_000, days=14)
    settings = Settings().with_overrides(data_dir=str(root / "state"))
    start, end = manifest.window()
    outcome = detect(settings, str(root / "org"), start, end)
    assert not outcome.result.failed
    record_findings(settings, outcome, start, end)
    return Demo(settings, manifest, outcome.findings, str(root / "org"))
