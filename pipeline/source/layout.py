"""What a local folder laid out like the log bucket holds: organization id, accounts, regions.

``AWSLogs/[o-xxxx/]<account>/{CloudTrail,GuardDuty}/<region>/...`` is the key layout CloudTrail
and the GuardDuty export write; ``trailguard catalog ddl`` lists these as the projection values
when ``[catalog]`` names none (right after ``trailguard demo``, say).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")


@dataclass(frozen=True)
class FolderLayout:
    org_id: str | None
    accounts: tuple[str, ...]
    regions: tuple[str, ...]


def _dirs(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.is_dir()) if path.is_dir() else []


def folder_layout(root: str | Path) -> FolderLayout:
    """Accounts and regions with CloudTrail or GuardDuty folders under ``root/AWSLogs``."""
    base = Path(root) / "AWSLogs"
    org_ids, accounts, regions = set(), set(), set()
    for child in _dirs(base):
        if child.name.startswith("o-"):
            org_ids.add(child.name)
            account_dirs = _dirs(child)
        else:
            account_dirs = [child]
        for account in account_dirs:
            if not _ACCOUNT.match(account.name):
                continue
            accounts.add(account.name)
            for service in ("CloudTrail", "GuardDuty"):
                regions.update(r.name for r in _dirs(account / service) if _REGION.match(r.name))
    org = next(iter(org_ids)) if len(org_ids) == 1 else None
    return FolderLayout(org, tuple(sorted(accounts)), tuple(sorted(regions)))
