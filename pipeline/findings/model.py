"""Findings: the shape every sink, store and report reads, and the finding's stable id.

How a detection's rows become findings is :mod:`pipeline.detections.results`.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd


@dataclass
class Finding:
    """One alert: a detection, the records behind it, and who/where/when."""

    detection_id: str
    finding_id: str
    severity: str
    title: str
    event_ids: list[str]
    account_id: str | None
    region: str | None
    principal: str | None
    first_seen: str
    last_seen: str
    event_count: int
    source_ip: str | None = None
    attack: list[str] = field(default_factory=list)
    runbook: str = ""
    dedup_key: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    # Who did it, resolved across role chains (queries/fragments/actor_records.sql, docs/actors.md):
    # a person, a workload, a service, root; None in findings written before actors existed.
    actor: str | None = None
    actor_type: str | None = None  # human | workload | service | root | unknown

    @property
    def is_sample(self) -> bool:
        """A GuardDuty sample finding (CreateSampleFindings: ``service.additionalInfo.sample``).

        Marked in the title, kept out of sinks unless a sink asks for them (``samples = true``).
        Only the finding GuardDuty raised: what the automated response did about a sample (its
        notification carries the flag too) is news about a real action and is delivered.
        """
        return self.detection_id == "guardduty_finding" and self.context.get("sample") in (True, "true", 1)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, default=str)


def clean_value(value: Any) -> Any:
    """JSON-safe Python value from a pandas cell (NaN/NA become None)."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        try:
            return value.item()
        except (ValueError, AttributeError):
            return str(value)
    if isinstance(value, (list, tuple)):
        return [clean_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): clean_value(v) for k, v in value.items()}
    if hasattr(value, "tolist"):
        return clean_value(value.tolist())
    return value


def finding_id(detection_id: str, dedup_values: dict[str, Any], first_event_id: str) -> str:
    """Stable id: the same detection, key and first record always give the same id."""
    basis = json.dumps([detection_id, dedup_values, first_event_id], sort_keys=True, default=str)
    return hashlib.sha256(basis.encode()).hexdigest()[:32]
