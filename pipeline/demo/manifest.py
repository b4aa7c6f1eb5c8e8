"""What a generated demo contains, and the ground truth (labels) detections are checked against."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: Severity each catalogue detection reports (DETECTIONS.md); guardduty_finding depends on the finding.
CATALOGUE_SEVERITY: dict[str, str] = {
    "root_account_usage": "high",
    "console_login_without_mfa": "high",
    "console_login_failure_burst": "medium",
    "iam_user_created": "high",
    "iam_access_key_created": "high",
    "iam_policy_changed": "high",
    "s3_bucket_permissions_changed": "medium",
    "s3_bucket_made_public": "high",
    "security_group_ingress_changed": "medium",
    "security_group_open_to_world": "high",
    "network_acl_changed": "low",
    "cloudtrail_tampering": "high",
    "guardduty_tampering": "high",
    "access_denied_burst": "medium",
    "discovery_burst": "low",
    "guardduty_finding": "",
}
CATALOGUE_IDS: tuple[str, ...] = tuple(CATALOGUE_SEVERITY)


def guardduty_severity(value: float) -> str:
    """The catalogue's mapping of a GuardDuty severity number to a finding severity."""
    return "high" if value >= 7 else "medium" if value >= 4 else "low"


@dataclass
class Label:
    """Ground truth for one scenario step.

    ``story`` names the story a step belongs to when one story has several labelled steps (the
    leaked key's discovery, persistence and evasion; one admin's two changes minutes apart);
    empty, the scenario is its own story. Incidents are checked against stories: one story, one
    incident, nothing else in it.

    ``detection_id`` set: that detection must report every id in ``event_ids`` (for bursts, the
    records inside the qualifying window). ``detection_id`` None: a near miss; no catalogue
    detection may report any of these ids. ``not_detection_ids`` names detections that must not
    report them even though ``detection_id`` does (the subtle half of a pair, e.g. an ingress rule
    that is not open to the world).
    """

    scenario: str
    detection_id: str | None
    event_ids: list[str]
    description: str
    source: str = "cloudtrail"  # cloudtrail | guardduty
    severity: str | None = None
    not_detection_ids: list[str] = field(default_factory=list)
    story: str = ""

    @property
    def story_name(self) -> str:
        return self.story or self.scenario


@dataclass
class DemoManifest:
    """Summary of a generated demo, written to ``<out>/manifest.json``."""

    seed: int
    org_id: str
    accounts: list[dict[str, str]]
    regions: list[str]
    start: str
    end: str
    days: int
    events: int
    background_events: int
    scenario_events: int
    files: int
    guardduty_findings: int
    guardduty_files: int
    guardduty_export_account: str
    cloudtrail_prefix: str
    labels: list[Label]
    generator: str = "trailguard.demo/1"

    @property
    def total_events(self) -> int:
        """CloudTrail records written (background plus labelled scenarios); same as ``events``."""
        return self.events

    def window(self) -> tuple[datetime, datetime]:
        """The generated period as aware UTC datetimes, ``[start, end)`` of event time.

        Files delivered after ``end`` (up to an hour later) sit in the next day's folders, so a
        reader of this window must include the partition after ``end``.
        """
        fmt = "%Y-%m-%dT%H:%M:%SZ"
        return (
            datetime.strptime(self.start, fmt).replace(tzinfo=UTC),
            datetime.strptime(self.end, fmt).replace(tzinfo=UTC),
        )

    def covered(self) -> list[str]:
        """Catalogue ids that at least one label says must fire."""
        return sorted({lb.detection_id for lb in self.labels if lb.detection_id})

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["detections_covered"] = self.covered()
        return data

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> DemoManifest:
        """Read a manifest back (e.g. in tests or the CLI's demo summary)."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        data.pop("detections_covered", None)
        data["labels"] = [Label(**lb) for lb in data["labels"]]
        return cls(**data)
