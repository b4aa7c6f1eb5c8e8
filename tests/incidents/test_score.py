"""The score is the documented sum of its terms, and every weight comes from configuration."""

from __future__ import annotations

import pytest

from pipeline.config import ConfigError, load_settings
from pipeline.incidents.correlate import correlate
from pipeline.incidents.service import IncidentConfig

ATTACK = [  # a burst, a new user, a stopped trail: one actor, the discovery-persistence-evasion chain
    {"finding_id": "a", "detection_id": "discovery_burst", "severity": "low", "title": "Discovery burst",
     "principal": "arn:aws:iam::111122223333:user/ci", "first_seen": "2026-11-03T13:00:00Z",
     "last_seen": "2026-11-03T13:09:00Z", "attack": ["T1580", "T1087.004"]},
    {"finding_id": "b", "detection_id": "iam_user_created", "severity": "high", "title": "IAM user created",
     "principal": "arn:aws:iam::111122223333:user/ci", "first_seen": "2026-11-03T13:12:00Z",
     "attack": ["T1136.003"],
     "context": {"target_user": "backup", "policy_arn": "arn:aws:iam::aws:policy/AdministratorAccess"}},
    {"finding_id": "c", "detection_id": "cloudtrail_tampering", "severity": "high", "title": "Trail stopped",
     "principal": "arn:aws:iam::111122223333:user/ci", "first_seen": "2026-11-03T13:20:00Z",
     "attack": ["T1562.008"]},
]


def incidents(environ: dict[str, str], tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = IncidentConfig.from_settings(load_settings(environ=environ))
    return correlate(ATTACK, config.rules, config.weights, first_seen_days=config.first_seen_days)


def test_score_is_the_sum_of_its_terms_and_the_chain_raises_severity(tmp_path, monkeypatch):
    [incident] = incidents({}, tmp_path, monkeypatch)
    assert incident.severity == "critical" and incident.sequences == ["discovery_persistence_evasion"]
    assert incident.tactics == ["discovery", "persistence", "defense-evasion"]
    assert incident.score_terms == {"severity (high)": 35, "tactics (3)": 16, "sequences (1)": 15,
                                    "sensitive assets (1)": 5, "first-seen actor": 10}
    assert incident.score == 81
    assert incident.narrative[0].startswith("2026-11-03 13:00 Discovery burst")


def test_weights_come_from_configuration(tmp_path, monkeypatch):
    environ = {"TRAILGUARD_INCIDENTS_SCORE_PER_SEQUENCE": "40", "TRAILGUARD_INCIDENTS_SCORE_HIGH": "50"}
    [incident] = incidents(environ, tmp_path, monkeypatch)
    assert incident.score_terms["sequences (1)"] == 40 and incident.score == 100  # capped


@pytest.mark.parametrize(("environ", "message"), [
    ({"TRAILGUARD_INCIDENTS_SCORE_PER_TACTIC": "-1"}, "score_per_tactic: -1 is not a whole number"),
    ({"TRAILGUARD_INCIDENTS_LOOKBACK": "a while"}, "lookback: 'a while' is not a duration"),
    ({"TRAILGUARD_INCIDENTS_PAGING_SEVERITY": "urgent"}, "'urgent' is not one of low"),
    ({"TRAILGUARD_INCIDENTS_RULES": "/nonexistent"}, "/nonexistent: no such rules folder"),
])
def test_bad_settings_name_the_key(environ, message, tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="incidents|rules") as caught:
        incidents(environ, tmp_path, monkeypatch)
    assert message in str(caught.value)


def test_the_example_configuration_is_a_valid_incidents_section():
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "trailguard.example.toml"
    config = IncidentConfig.from_settings(load_settings(example, environ={}))
    assert config.route == "finding" and "222222222222" in config.weights.sensitive
