"""Issue 17 item 14: notebook 03 suggests a narrow suppression, never a silent account-wide one."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from pipeline import suggest_suppression, suppression_impact
from pipeline.reports.trends import load_findings
from tests.helpers import ORG_END, ORG_START

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "03_tune_detection.ipynb"


def test_guardduty_suggestion_is_an_account_and_a_type_and_hides_no_high_finding(demo_engine, demo_detected):
    findings = load_findings(demo_detected.settings)
    guardduty = findings[findings["detection_id"] == "guardduty_finding"]
    assert guardduty["severity"].isin(["high", "critical"]).any(), "the demo has high GuardDuty findings"
    rule = suggest_suppression(guardduty, "test", "2099-01-01")
    assert set(rule) == {"accounts", "finding_types", "reason", "expires"}
    impact = suppression_impact(demo_detected.settings, demo_engine, "guardduty_finding", rule,
                                ORG_START, ORG_END)
    removed = impact["removed"]
    assert not removed.empty and impact["removed_high"].empty
    assert set(removed["account_id"].astype(str)) == set(rule["accounts"])
    types = {(c if isinstance(c, dict) else json.loads(c))["finding_type"] for c in removed["context"]}
    assert types == set(rule["finding_types"])
    account_wide = {"accounts": rule["accounts"], "reason": "test", "expires": "2099-01-01"}
    wide = suppression_impact(demo_detected.settings, demo_engine, "guardduty_finding", account_wide,
                              ORG_START, ORG_END)
    assert len(wide["removed"]) > len(removed)  # narrower than the old account-wide suggestion


def _frame(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"principal": p, "severity": s, "account_id": a, "context": json.dumps({"finding_type": "T"})}
         for p, s, a in rows]
    )


def test_a_caller_with_high_findings_is_passed_over_for_one_without():
    findings = _frame([("arn:aws:iam::1:root", "low", "1")] * 5 + [("arn:aws:iam::1:root", "high", "1")]
                      + [("arn:aws:iam::1:role/ci", "low", "1")] * 2)
    assert suggest_suppression(findings, "r", "2099-01-01")["principals"] == ["arn:aws:iam::1:role/ci"]
    only_high = _frame([("arn:aws:iam::1:role/a", "high", "1")] * 2
                       + [("arn:aws:iam::1:role/b", "high", "1")])
    # nothing safe: the noisiest is suggested, and suppression_impact's removed_high says what it hides
    assert suggest_suppression(only_high, "r", "2099-01-01")["principals"] == ["arn:aws:iam::1:role/a"]
    resources = _frame([("i-1", "low", "111"), ("i-2", "low", "111"), ("i-3", "high", "222")])
    assert suggest_suppression(resources, "r", "2099-01-01")["accounts"] == ["111"]
    with pytest.raises(ValueError, match="no findings"):
        suggest_suppression(findings.iloc[0:0], "r", "2099-01-01")


def test_notebook_uses_the_narrow_suggestion_and_still_warns():
    code = "".join("".join(c["source"]) for c in json.loads(NOTEBOOK.read_text())["cells"])
    assert "tg.suggest_suppression(mine" in code and '"accounts", str(' not in code
    assert "removed_high" in code and "WARNING: this rule would also hide" in code
