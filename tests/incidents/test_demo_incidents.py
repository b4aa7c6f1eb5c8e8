"""On the labelled demo: the leaked-key attack is one incident, first, and nothing else is in it;
every other labelled story is an incident of its own; background findings join no story.

Ground truth comes from the manifest's labels: which records each story's steps produced (a label's
``story``, or its scenario when it is a story of one step) and which GuardDuty findings are about
which story; never from the correlation under test. Counts are not fixed: the demo's background
findings change as detections are tuned, the labels say what is what.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass

import pytest

from pipeline.demo.scenarios import story
from pipeline.incidents.correlate import correlate
from pipeline.incidents.entities import GUARDDUTY
from pipeline.incidents.service import IncidentConfig, incidents_from_store

pytestmark = pytest.mark.slow  # one labelled 14-day demo, generated and detected once per session


@dataclass
class Truth:
    story_of: dict[str, str]  # finding id -> its labelled story
    background: set[str]  # findings about no labelled record and no story
    guardduty: set[str]  # GuardDuty findings (about a story or not)

    def ids(self, name: str) -> set[str]:
        return {fid for fid, s in self.story_of.items() if s == name}


@pytest.fixture(scope="module")
def truth(demo) -> Truth:
    stories_of_record = defaultdict(set)
    for label in demo.manifest.labels:
        if label.source == "cloudtrail" or label.scenario == "guardduty_story_findings":
            for event in label.event_ids:  # a GuardDuty label's ids are GuardDuty's finding ids
                stories_of_record[event].add(label.story_name)
    found = Truth({}, set(), set())
    for f in demo.findings:
        if f.detection_id == GUARDDUTY:
            found.guardduty.add(f.finding_id)
        if not f.event_ids:  # a finding about no record (a delivery gap): neither story nor background
            continue
        names = set().union(*(stories_of_record[e] for e in f.event_ids))
        assert len(names) <= 1, (f.finding_id, names)  # the demo keeps its stories' records apart
        if names:
            found.story_of[f.finding_id] = names.pop()
        else:
            found.background.add(f.finding_id)
    return found


@pytest.fixture(scope="module")
def incidents(demo):
    start, _ = demo.manifest.window()
    return incidents_from_store(demo.settings, since=start)


def test_the_leaked_key_attack_is_one_incident_ranked_first_with_nothing_else(incidents, truth):
    story_ids = truth.ids(story.STORY)
    assert len(story_ids & truth.guardduty) == 4
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


def test_every_other_story_is_one_incident_of_its_own(incidents, truth):
    where = {fid: i for i in incidents for fid in i.finding_ids}
    stories = set(truth.story_of.values()) - {story.STORY}
    assert len(stories) > 30
    split = {}
    for name in sorted(stories):
        ids = truth.ids(name)
        # GuardDuty's findings about a story join it when they name its actor, key, address or
        # record; one that names none of them (the site bucket's S3 findings name the bucket only
        # in their title) is an incident of its own, never another story's.
        homes = {where[fid].incident_id for fid in ids - truth.guardduty}
        if len(homes) > 1:
            split[name] = homes
    assert split == {}
    for incident in incidents:
        names = {truth.story_of[fid] for fid in incident.finding_ids if fid in truth.story_of}
        assert len(names) <= 1, (incident.headline, names)


def test_background_findings_are_not_merged_into_story_incidents(incidents, truth):
    assert truth.background
    mixed = [i.headline for i in incidents
             if set(i.finding_ids) & truth.background and set(i.finding_ids) & set(truth.story_of)]
    assert mixed == []


def test_incident_ids_are_stable_whatever_the_order_of_the_findings(demo, incidents):
    config = IncidentConfig.from_settings(demo.settings)
    shuffled = list(demo.findings)
    random.Random(3).shuffle(shuffled)
    again = correlate(shuffled, config.rules, config.weights, first_seen_days=config.first_seen_days,
                      routine_days=config.routine_days)
    pairs = [(i.incident_id, i.finding_ids) for i in incidents]
    assert [(i.incident_id, i.finding_ids) for i in again] == pairs
    assert len({i.incident_id for i in incidents}) == len(incidents)
