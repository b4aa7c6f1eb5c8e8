"""Deterministic demo data: a synthetic AWS organization's CloudTrail and GuardDuty S3 exports.

``generate_demo(out)`` writes half a million believable CloudTrail records (filed by delivery time
under an organization trail's key layout) and a few dozen GuardDuty findings, with labelled attack
scenarios and near misses so that every catalogue detection fires for a reason the manifest names.
"""

from .generate import generate_demo
from .manifest import CATALOGUE_IDS, DemoManifest, Label, guardduty_severity

__all__ = ["CATALOGUE_IDS", "DemoManifest", "Label", "generate_demo", "guardduty_severity"]
