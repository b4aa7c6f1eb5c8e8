"""Integrity failures as findings (``log_file_tampered``), and the validation summary of a period.

``validate-logs`` answers "is the evidence whole?" for a person at a terminal; scheduled runs and
the weekly report need the same answer as data. Each :class:`~pipeline.integrity.validate.Problem` becomes
one :class:`~pipeline.findings.model.Finding` that flows through the same sinks as every detection's:

- its ``finding_id`` is stable (the file and the kind of problem), and its single "event id" is
  ``integrity:<kind>:<file>``, so the scheduler's record-level dedup delivers it exactly once
  however many overlapping windows find it again;
- severity is critical when evidence was changed or removed (a log file modified or missing, a
  digest modified, a signature that does not verify) and high otherwise (a file no digest lists,
  a digest missing for an hour, a broken chain, a key we do not know), which can also be an
  outage or a misconfiguration rather than an attacker.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.config import ConfigError, Settings
from pipeline.findings.model import Finding
from pipeline.integrity.keys import PUBLIC_KEYS_SUFFIX, fetch_public_keys, load_public_keys
from pipeline.integrity.validate import CATEGORIES, Problem, ValidationReport, validate
from pipeline.source.objects import open_store
from pipeline.times import iso_z

DETECTION_ID = "log_file_tampered"
CRITICAL = {"modified_log_files", "missing_log_files", "modified_digests", "bad_signatures"}
TITLES = {
    "modified_log_files": "CloudTrail log file modified after delivery",
    "missing_log_files": "CloudTrail log file deleted (listed in its digest, not in the bucket)",
    "unlisted_log_files": "CloudTrail log file in the bucket that no digest lists",
    "missing_digests": "CloudTrail digest missing for a period",
    "modified_digests": "CloudTrail digest file modified",
    "broken_chains": "CloudTrail digest chain broken",
    "bad_signatures": "CloudTrail digest signature does not verify",
    "unknown_keys": "CloudTrail digest signed with an unknown key",
    "no_digests": "No CloudTrail digests where the trail is expected to deliver",
}
ATTACK = ["T1070", "T1565.001"]  # indicator removal; stored data manipulation
RUNBOOK = (
    "1. Run `trailguard validate-logs --source <source> --start <first_seen> --end <last_seen>` to see "
    "the problem in context (context.detail names what failed). "
    "2. For a modified, deleted or added log file: find who wrote or deleted the object (S3 server "
    "access logs, CloudTrail S3 data events on the log bucket, the bucket policy and Object Lock "
    "settings) and treat the account and region's records of that hour as untrustworthy: compare "
    "them with GuardDuty and other telemetry. "
    "3. For digests (missing, modified, chain, signature, unknown key): check the trail's status "
    "and LatestDigestDeliveryError, and whether the trail was recreated or its bucket changed; "
    "without a valid digest the log files of that period cannot be verified at all."
)
_TREE = re.compile(r"AWSLogs/(?:o-[a-z0-9]+/)?(\d{12})/CloudTrail(?:-Digest)?/([a-z0-9-]+)/")
_STAMP = re.compile(r"_(\d{8}T\d{4,6})Z")


def _when(file: str, fallback: datetime) -> str:
    """The delivery time a CloudTrail object name carries (log files and digests), else ``fallback``."""
    match = _STAMP.search(file)
    if match:
        text = match.group(1)
        fmt = "%Y%m%dT%H%M%S" if len(text) == 15 else "%Y%m%dT%H%M"
        return iso_z(datetime.strptime(text, fmt).replace(tzinfo=UTC))
    return iso_z(fallback)


def problem_finding(problem: Problem, report: ValidationReport) -> Finding:
    """One finding for one integrity problem; the same problem always gives the same ids."""
    tree = _TREE.search(problem.file)
    account, region = (tree.group(1), tree.group(2)) if tree else (None, None)
    basis = json.dumps([DETECTION_ID, problem.category, problem.file])
    when = _when(problem.file, report.start)
    return Finding(
        detection_id=DETECTION_ID,
        finding_id=hashlib.sha256(basis.encode()).hexdigest()[:32],
        severity="critical" if problem.category in CRITICAL else "high",
        title=TITLES[problem.category],
        event_ids=[f"integrity:{problem.category}:{problem.file}"],
        account_id=account,
        region=region,
        principal=None,
        first_seen=when,
        last_seen=when,
        event_count=1,
        attack=list(ATTACK),
        runbook=RUNBOOK,
        dedup_key={"category": problem.category, "file": problem.file},
        context={"category": problem.category, "file": problem.file, "detail": problem.detail,
                 "source": report.source, "validated_from": iso_z(report.start),
                 "validated_to": iso_z(report.end)},
    )


def report_findings(report: ValidationReport) -> list[Finding]:
    """Every problem of a validation as a finding, in a stable order."""
    return sorted((problem_finding(p, report) for p in report.problems),
                  key=lambda f: (f.first_seen, f.finding_id))


LIST_PUBLIC_KEYS = "cloudtrail"  # a key source that means "ask CloudTrail's ListPublicKeys"


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` (after links) lies in ``folder``: what the bucket's writer controls."""
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def public_keys_for(source: str, keys_file: str | Path | None, start: datetime, end: datetime,
                    cloudtrail_client: Any = None) -> dict:
    """The trusted public keys: a key file named in configuration, or CloudTrail's ListPublicKeys.

    Whoever can write to the log bucket can also write a key file into it and re-sign every
    digest, so nothing inside a local source folder is trusted: a key file there is refused, and
    a local source without a configured key file is an error rather than a guess. ``s3://``
    sources (and ``keys_file = "cloudtrail"``) ask ListPublicKeys, which the bucket's writer
    cannot change. Raises ConfigError naming the file or the missing key source, never a traceback."""
    if keys_file and str(keys_file) != LIST_PUBLIC_KEYS:
        path = Path(keys_file)
        if not path.is_file():
            raise ConfigError(f"public keys {path}: no such file")
        if not source.startswith("s3://") and _inside(path, Path(source)):
            raise ConfigError(f"public keys {path}: inside the source folder {source}, which whoever "
                              "writes to the log bucket controls; keep trusted keys outside it")
        try:
            return load_public_keys(path)
        except (ValueError, UnicodeDecodeError) as exc:  # JSON, base64 and key-format errors
            raise ConfigError(f"public keys {path}: {exc}") from None
    if not source.startswith("s3://") and not keys_file:
        raise ConfigError(f"no trusted public keys for {source}: name a key file outside the source "
                          "([integrity] public_keys or --public-keys; the demo writes "
                          f"<folder>{PUBLIC_KEYS_SUFFIX} beside its folder), or \"{LIST_PUBLIC_KEYS}\" "
                          "to ask CloudTrail ListPublicKeys")
    if cloudtrail_client is None:
        import boto3

        cloudtrail_client = boto3.client("cloudtrail")
    return fetch_public_keys(cloudtrail_client, start, end)


def has_digests(source: str, s3_client: Any = None) -> bool:
    """Whether the source holds a ``CloudTrail-Digest/`` tree at all (log file validation is on)."""
    return open_store(source, s3_client).has_digests()


@dataclass
class IntegritySummary:
    """The validation result of a period, for the weekly report's health section and run summaries."""

    source: str
    start: datetime
    end: datetime
    checked: bool  # False when the source has no digests at all (log file validation is off)
    ok: bool
    valid_digests: int = 0
    invalid_digests: int = 0  # missing, modified, unsigned or wrongly signed, chain broken, unknown key
    valid_log_files: int = 0
    invalid_log_files: int = 0  # modified, missing, or in no digest
    unverified_log_files: int = 0
    problems: list[Problem] = field(default_factory=list)
    gaps: list[tuple[str | None, str | None, str]] = field(default_factory=list)  # (account, region, detail)

    @property
    def status(self) -> str:
        return "no digests" if not self.checked else "valid" if self.ok else "INVALID"


LOG_FILE_CATEGORIES = ("modified_log_files", "missing_log_files", "unlisted_log_files")


def summarize(report: ValidationReport) -> IntegritySummary:
    counts = report.counts()
    gaps = []
    for problem in report.problems:
        if problem.category == "missing_digests":
            tree = _TREE.search(problem.file + "/")
            gaps.append((tree.group(1) if tree else None, tree.group(2) if tree else None, problem.detail))
    return IntegritySummary(
        source=report.source,
        start=report.start,
        end=report.end,
        checked=True,
        ok=report.ok,
        valid_digests=report.valid_digests,
        invalid_digests=sum(counts[c] for c in CATEGORIES if c not in LOG_FILE_CATEGORIES),
        valid_log_files=report.valid_log_files,
        invalid_log_files=sum(counts[c] for c in LOG_FILE_CATEGORIES),
        unverified_log_files=report.unverified_log_files,
        problems=list(report.problems),
        gaps=gaps,
    )


def integrity_summary(settings: Settings, source: str | None, start: datetime, end: datetime,
                      s3_client: Any = None, cloudtrail_client: Any = None) -> IntegritySummary:
    """Validate ``[start, end)`` of ``source`` (default: the configured one) and summarize it.

    A source without any digests is reported as not checked (``status == "no digests"``) rather
    than invalid: that is a trail without log file validation, which the health section can say.
    """
    source = source or settings.source
    if not has_digests(source, s3_client):
        return IntegritySummary(source, start, end, checked=False, ok=False)
    keys_file = settings["integrity"].get("public_keys") or None
    keys = public_keys_for(source, keys_file, start, end, cloudtrail_client)
    return summarize(validate(source, start, end, keys, s3_client))
