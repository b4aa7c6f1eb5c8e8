"""Every correlation and sequence rule's examples hold, and bad rule files fail with one clear line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline.config import DEFAULTS
from pipeline.incidents.correlate import correlate, matches_sequence
from pipeline.incidents.rules import RuleError, load_rules, parse_rule
from pipeline.incidents.score import ScoreWeights
from pipeline.incidents.tactics import TACTICS, finding_tactics, technique_tactic
from pipeline.paths import DETECTIONS_DIR

RULES = load_rules()
WEIGHTS = ScoreWeights.from_config(DEFAULTS["incidents"])
EXAMPLES = [(rule, example) for rule in RULES for example in rule.examples]


def _finding(data: dict) -> dict:
    return {"detection_id": "finding", "severity": "medium", "title": "t", **data}


@pytest.mark.parametrize(("rule", "example"), EXAMPLES, ids=[f"{r.id}: {e['name']}" for r, e in EXAMPLES])
def test_rule_examples(rule, example):
    if rule.kind == "sequence":
        assert matches_sequence(example["tactics"], rule.steps) is example["matches"]
        return
    incidents = correlate([_finding(f) for f in example["findings"]], [rule], WEIGHTS)
    found = sorted(sorted(i.finding_ids) for i in incidents)
    assert found == sorted(sorted(group) for group in example["incidents"])


def test_the_shipped_rules_cover_the_three_kinds_and_the_two_kill_chains():
    kinds = {r.kind for r in RULES}
    assert kinds == {"join", "link", "sequence"}
    chains = {r.steps for r in RULES if r.kind == "sequence"}
    assert ("discovery", "persistence", "defense-evasion") in chains
    assert ("credential-access", "exfiltration") in chains


def test_every_technique_a_detection_carries_has_a_tactic():
    import yaml

    missing = {}
    for path in DETECTIONS_DIR.glob("*.sql"):
        header = yaml.safe_load(path.read_text(encoding="utf-8").split("*/", 1)[0].lstrip("/*"))
        unknown = [t for t in header.get("attack", []) if technique_tactic(t) is None]
        if unknown:
            missing[path.stem] = unknown
    assert missing == {}


def test_guardduty_type_names_the_tactic_and_order_is_the_kill_chain():
    assert finding_tactics(["T1078.004"], "Stealth:IAMUser/CloudTrailLoggingDisabled") == ["defense-evasion"]
    assert finding_tactics(["T1078.004"], "Unknown:Thing/X") == ["initial-access"]
    assert finding_tactics(["T1562.008", "T1580"]) == ["defense-evasion", "discovery"]
    assert TACTICS.index("discovery") < TACTICS.index("exfiltration")


@pytest.mark.parametrize(("text", "message"), [
    ("id: other\nkind: join\nkeys: [actor]\nexamples: [{}]", "id must be the file name"),
    ("id: r\nkind: merge\nexamples: [{}]", "kind 'merge' is not one of"),
    ("id: r\nkind: join\nkeys: [colour]\nexamples: [{}]", "keys: ['colour']"),
    ("id: r\nkind: join\nkeys: [actor]\ngap: soon\nexamples: [{}]", "gap: 'soon' is not a duration"),
    ("id: r\nkind: sequence\nsteps: [discovery, looting]\nexamples: [{}]",
     "'looting' is not an ATT&CK tactic"),
    ("id: r\nkind: sequence\nsteps: [discovery, impact]", "at least one example"),
    ("id: r\nkind: link\ncreates: [{detection: x, field: y, entity: bucket}]\nexamples: [{}]",
     "entity 'bucket' is not user or access_key"),
    ("id: r\nkind: join\nkeys: [actor]\ncolour: red\nexamples: [{}]", "unknown key 'colour'"),
])
def test_bad_rules_name_the_file_and_the_key(tmp_path: Path, text, message):
    import yaml

    path = tmp_path / "r.yaml"
    with pytest.raises(RuleError, match=re.escape(message)) as caught:
        parse_rule(path, yaml.safe_load(text))
    assert str(path) in str(caught.value)


def test_a_missing_or_empty_rules_folder_is_an_error(tmp_path: Path):
    with pytest.raises(RuleError, match="no such rules folder"):
        load_rules(tmp_path / "absent")
    with pytest.raises(RuleError, match="no \\*.yaml rules"):
        load_rules(tmp_path)
