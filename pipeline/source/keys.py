"""The bucket's key layout, in one place: how CloudTrail and GuardDuty name what they write.

``AWSLogs/[o-org/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHMMZ_x.json.gz``
``AWSLogs/[o-org/]ACCOUNT/CloudTrail-Digest/REGION/YYYY/MM/DD/..._CloudTrail-Digest_..._YYYYMMDDTHHMMSSZ.json.gz``
``AWSLogs/ACCOUNT/GuardDuty/REGION/YYYY/MM/DD/<uuid>.jsonl.gz``

An organization trail puts the organization id between ``AWSLogs/`` and the account; a trail of
one account does not. Everything that builds, lists or parses these keys does it here, so a
local folder, the S3 bucket and the tables all agree on one layout.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

LOGS_ROOT = "AWSLogs"
CLOUDTRAIL = "CloudTrail"
DIGEST = "CloudTrail-Digest"
GUARDDUTY = "GuardDuty"
EVENT_SERVICES = (CLOUDTRAIL, GUARDDUTY)  # the trees the tables read; digests are evidence, not events

ORG_DIR = re.compile(r"^o-[a-z0-9]+$")  # organization ids: "o-" + lower-case letters and digits
TREE = re.compile(
    rf"{LOGS_ROOT}/(?:(o-[a-z0-9]+)/)?(\d{{12}})/({CLOUDTRAIL}-Digest|{CLOUDTRAIL}|{GUARDDUTY})/([a-z0-9-]+)/"
)
DIGEST_NAME = re.compile(rf"_{DIGEST}_.+_(\d{{8}}T\d{{6}}Z)(_backfill)?\.json\.gz$")
DIGEST_TIME_FORMAT = "%Y%m%dT%H%M%SZ"  # the hour a digest closes, in its name
LOG_TIME_FORMAT = "%Y%m%dT%H%MZ"  # the delivery minute, in a log file's name
DAY_FORMAT = "%Y/%m/%d"  # the day folder, and the ``day`` partition's value


@dataclass(frozen=True)
class KeyTree:
    """Where a key sits: its organization (if any), account, service and region."""

    org_id: str | None
    account: str
    service: str
    region: str


def account_prefix(account: str, org_id: str | None = None) -> str:
    """``AWSLogs/[o-org/]ACCOUNT/``."""
    return f"{LOGS_ROOT}/{org_id}/{account}/" if org_id else f"{LOGS_ROOT}/{account}/"


def region_prefix(service: str, account: str, region: str, org_id: str | None = None) -> str:
    """``AWSLogs/[o-org/]ACCOUNT/SERVICE/REGION/``."""
    return f"{account_prefix(account, org_id)}{service}/{region}/"


def day_folder(moment: datetime) -> str:
    """``YYYY/MM/DD``: the day part of a key, and the ``day`` partition's value."""
    return moment.strftime(DAY_FORMAT)


def cloudtrail_file_name(account: str, region: str, stamp: str, unique: str) -> str:
    """The name CloudTrail gives a log file (``stamp`` in LOG_TIME_FORMAT); names sort by delivery time."""
    return f"{account}_{CLOUDTRAIL}_{region}_{stamp}_{unique}.json.gz"


def digest_file_name(account: str, region: str, trail: str, home_region: str, stamp: str) -> str:
    """The name CloudTrail gives a digest closing the hour ``stamp`` (DIGEST_TIME_FORMAT)."""
    return f"{account}_{DIGEST}_{region}_{trail}_{home_region}_{stamp}.json.gz"


def parse_tree(key: str) -> KeyTree | None:
    """The organization, account, service and region a key (or path) lies under, if it follows the layout."""
    match = TREE.search(key)
    if not match:
        return None
    org_id, account, service, region = match.groups()
    return KeyTree(org_id, account, service, region)


def local_account_dirs(root: Path) -> Iterator[tuple[Path, str | None]]:
    """Each ``AWSLogs/ACCOUNT`` and ``AWSLogs/o-org/ACCOUNT`` folder under a local source, with its org."""
    logs = Path(root) / LOGS_ROOT
    if not logs.is_dir():
        return
    for child in sorted(p for p in logs.iterdir() if p.is_dir()):
        if ORG_DIR.match(child.name):
            yield from ((acct, child.name) for acct in sorted(p for p in child.iterdir() if p.is_dir()))
        else:
            yield child, None


def local_region_dirs(root: Path, service: str) -> Iterator[Path]:
    """Each ``.../SERVICE/REGION`` folder under a local source."""
    for account_dir, _ in local_account_dirs(root):
        service_dir = account_dir / service
        if service_dir.is_dir():
            yield from sorted(p for p in service_dir.iterdir() if p.is_dir())
