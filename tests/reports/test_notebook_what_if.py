"""Issue 17 item 14: notebook 04 draws inline and its one-account scenarios say what they apply to."""

from __future__ import annotations

from pathlib import Path

import nbformat

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "04_guardduty_cost_what_if.ipynb"


def test_charts_show_inline_and_scenarios_name_one_region():
    code = "\n".join(c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code")
    assert 'matplotlib.use("Agg")' not in code  # the test run sets MPLBACKEND instead
    assert "300M S3 data events in {busiest_pair} (one region)" in code
    assert 'volumes={busiest: ' not in code  # an account key would apply to each of its regions



def test_an_account_region_key_applies_to_that_region_only():
    from pipeline.cost.volumes import volumes_for

    configured = {"111111111111/us-east-1": {"s3_data_events": 300_000_000.0}}
    assert volumes_for(configured, "111111111111", "us-east-1")["s3_data_events"] == 300_000_000
    assert "s3_data_events" not in volumes_for(configured, "111111111111", "eu-west-1")
    by_account = {"111111111111": {"s3_data_events": 300_000_000.0}}
    assert volumes_for(by_account, "111111111111", "eu-west-1")["s3_data_events"] == 300_000_000
