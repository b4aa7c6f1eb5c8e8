"""On the labelled demo: the leaked-key attack is one incident, first, and nothing else is in it.

Ground truth comes from the manifest's labels (which records each scenario produced) and, for
GuardDuty, from the story's own definition (its findings are about the leaked user); never from
the correlation under test.
"""

from __future__ import annotations

import random
from collections import defaultdict

import pytest

from pipeline.demo.scenarios import story
from pipeline.incidents.correlate import correlate
from pipeline.incidents.entities import GUARDDUTY
from pipeline.incidents.service import IncidentConfig, incidents_from_store

pytestmark = pytest.mark.slow  # one labelled 14-day demo, generated and detected once per session

STORY_PREFIX = "stolen_key_"


@pytest.fixture(scope="module")
def truth(demo):
    """finding_id -> the labelled scenarios whose records it reports; the story's and background ids."""
    scenarios_of_event = defaultdict(set)
    for label in demo.manifest.labels:
        if label.source == "cloudtrail":
            for event in label.event_ids:
                scenarios_of_event[event].add(label.scenario)
    hooked = {e for lb in demo.manifest.labels if lb.scenario == "guardduty_story_findings"
              for e in lb.event_ids}
    scenarios, story_ids, background = {}, set(), set()
    for f in demo.findings:
        if f.detection_id == GUARDDUTY:
            if f.principal == story.USER:
                story_ids.add(f.finding_id)
            elif f.event_ids[0] not in hooked:
                background.add(f.finding_id)
            continue
        names = set().union(*(scenarios_of_event[e] for e in f.event_ids))
        scenarios[f.finding_id] = names
        if any(n.startswith(STORY_PREFIX) for n in names):
            story_ids.add(f.finding_id)
    return scenarios, story_ids, background


@pytest.fixture(scope="module")
def incidents(demo):
    start, _ = demo.manifest.window()
    return incidents_from_store(demo.settings, since=start)


def test_the_leaked_key_attack_is_one_incident_ranked_first_with_nothing_else(incidents, truth):
    _, story_ids, _ = truth
    assert len(story_ids) >= 9  # discovery burst, user, policy, key, trail and GuardDuty's four
    holding = [i for i in incidents if story_ids & set(i.finding_ids)]
    assert len(holding) == 1
    [attack] = holding
    assert set(attack.finding_ids) == story_ids
    assert incidents[0] is attack
    assert attack.severity == "critical"
    assert attack.sequences == ["discovery_persistence_evasion"]
    tactics = attack.tactics
    assert tactics.index("discovery") < tactics.index("persistence") < tactics.index("defense-evasion")
    assert attack.actor.endswith(f":user/{story.USER}")
    assert attack.first_seen_actor
    assert any(a.startswith("AKIA") for a in attack.access_keys)  # the leaked key and the one it made
    assert len(attack.source_addresses) == 1 and len(attack.accounts) == 1
    assert any("AdministratorAccess" in s for s in attack.sensitive_assets)
    assert len(attack.narrative) == len(attack.finding_ids)
    assert attack.score == sum(attack.score_terms.values()) or attack.score == 100


def test_every_other_scenario_stays_in_one_incident_of_its_own_actor(incidents, truth):
    scenarios, story_ids, _ = truth
    where = {fid: i for i in incidents for fid in i.finding_ids}
    homes = defaultdict(set)
    for fid, names in scenarios.items():
        for name in names:
            homes[name].add(where[fid].incident_id)
    split = {name: ids for name, ids in homes.items() if len(ids) > 1}
    assert split == {}
    for incident in incidents:
        if set(incident.finding_ids) & story_ids:
            continue
        labelled = [fid for fid in incident.finding_ids if fid in scenarios]
        if len({frozenset(scenarios[f]) for f in labelled}) > 1:
            # Several scenarios in one incident (one admin's two changes minutes apart, a brute force
            # and the login it won): joined by an actor or an address, and all in one actor's name.
            assert set(incident.joined_by) <= {"same_actor", "shared_indicator", "created_identities"}
            actors = {p.rsplit("/", 1)[-1] for p in incident.principals}
            assert len(actors) == 1, incident.principals


def test_background_findings_are_not_merged_into_attack_incidents(incidents, truth):
    scenarios, story_ids, background = truth
    assert background
    for incident in incidents:
        members = set(incident.finding_ids)
        if members & background:
            assert not members & (story_ids | set(scenarios)), incident.headline


def test_incident_ids_are_stable_whatever_the_order_of_the_findings(demo, incidents):
    config = IncidentConfig.from_settings(demo.settings)
    shuffled = list(demo.findings)
    random.Random(3).shuffle(shuffled)
    again = correlate(shuffled, config.rules, config.weights, first_seen_days=config.first_seen_days)
    pairs = [(i.incident_id, i.finding_ids) for i in incidents]
    assert [(i.incident_id, i.finding_ids) for i in again] == pairs
    assert len({i.incident_id for i in incidents}) == len(incidents)
