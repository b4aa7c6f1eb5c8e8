"""Deploy the table specs to the Glue Data Catalog, and check the projection lists against reality.

Partition projection makes Athena read only the accounts and regions listed in the table
properties. That is what keeps scans cheap, and also how a detection goes blind: an account that
joins the organization, or a region someone enables, delivers logs that no query ever reads, and
nothing fails. ``discover_partitions`` therefore looks at three sources (Organizations, EC2 and
the log bucket itself) and ``projection_drift`` turns every difference into a warning a person
reads. Region names are taken from those sources as they are, never checked against a list
compiled into the code, so a region AWS launches tomorrow is handled like any other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pipeline.catalog.athena import CatalogSettings, glue_table_input
from pipeline.catalog.specs import TableSpec
from pipeline.source.s3 import parse_s3_uri
from pipeline.source.s3sync import discover_log_prefixes


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def deploy_catalog(settings: CatalogSettings, specs: Iterable[TableSpec] | Mapping[str, TableSpec],
                   glue_client: Any) -> list[tuple[str, str]]:
    """Create the database if missing, then create or update every table; safe to run again.

    Returns ``(name, action)`` rows for a summary: the database first (``database created`` or
    ``database exists``), then ``database.table`` with ``created`` or ``updated``. Updating an
    existing table is what makes a changed spec, or a new account in the projection list, reach
    Athena: a deploy never stops at "already exists".
    """
    tables = list(specs.values()) if isinstance(specs, Mapping) else list(specs)
    actions: list[tuple[str, str]] = []
    try:
        glue_client.get_database(Name=settings.database)
        actions.append((settings.database, "database exists"))
    except ClientError as exc:
        if _error_code(exc) != "EntityNotFoundException":
            raise
        try:
            glue_client.create_database(DatabaseInput={
                "Name": settings.database,
                "Description": "trailguard: CloudTrail and GuardDuty tables (partition projection)",
            })
            actions.append((settings.database, "database created"))
        except ClientError as race:  # another deploy created it between the two calls
            if _error_code(race) != "AlreadyExistsException":
                raise
            actions.append((settings.database, "database exists"))
    for spec in tables:
        table_input = glue_table_input(spec, settings)
        name = f"{settings.database}.{spec.name}"
        try:
            glue_client.create_table(DatabaseName=settings.database, TableInput=table_input)
            actions.append((name, "created"))
        except ClientError as exc:
            if _error_code(exc) != "AlreadyExistsException":
                raise
            glue_client.update_table(DatabaseName=settings.database, TableInput=table_input)
            actions.append((name, "updated"))
    return actions


@dataclass(frozen=True)
class Discovered:
    """Accounts and regions as AWS and the bucket see them; ``notes`` says which sources could not be read."""

    org_accounts: dict[str, str] = field(default_factory=dict)  # ACTIVE account id -> name
    enabled_regions: tuple[str, ...] = ()
    bucket_accounts: tuple[str, ...] = ()
    bucket_regions: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def accounts(self) -> tuple[str, ...]:
        """Every account that should be in the projection: members and accounts with logs."""
        return tuple(sorted(set(self.org_accounts) | set(self.bucket_accounts)))

    @property
    def regions(self) -> tuple[str, ...]:
        """Every region that should be in the projection: enabled ones and ones with logs."""
        return tuple(sorted(set(self.enabled_regions) | set(self.bucket_regions)))


def _org_accounts(org_client: Any) -> dict[str, str]:
    accounts: dict[str, str] = {}
    for page in org_client.get_paginator("list_accounts").paginate():
        for account in page.get("Accounts", []):
            # "State" replaced the deprecated "Status" in 2025; either says ACTIVE for a live member.
            if (account.get("State") or account.get("Status")) == "ACTIVE":
                accounts[account["Id"]] = account.get("Name", "")
    return accounts


def discover_partitions(org_client: Any | None, ec2_client: Any | None, s3_client: Any,
                        source_uri: str, org_id: str | None) -> Discovered:
    """Accounts (Organizations, ACTIVE only), enabled regions (EC2) and the trees present in the bucket.

    The bucket is the source that matters most and its errors propagate. Organizations is only
    readable from the management or a delegated account, so a refusal there (or from EC2) becomes
    a note and the comparison goes on with what could be read. ``org_id`` only labels the notes:
    the bucket is listed under both ``AWSLogs/`` and every ``AWSLogs/o-*/``.
    """
    notes: list[str] = []
    org_accounts: dict[str, str] = {}
    if org_client is not None:
        try:
            org_accounts = _org_accounts(org_client)
            if not org_accounts:  # an organization always holds its management account
                notes.append(f"Organizations listed no ACTIVE account for {org_id or 'this caller'}; "
                             "new member accounts are only found through the bucket")
        except (ClientError, BotoCoreError) as exc:
            notes.append(f"could not list the accounts of organization {org_id or '(unknown)'} "
                         f"({exc}); new member accounts are only found through the bucket")
    regions: tuple[str, ...] = ()
    if ec2_client is not None:
        try:
            answer = ec2_client.describe_regions(AllRegions=False)
            regions = tuple(sorted(r["RegionName"] for r in answer.get("Regions", [])))
        except (ClientError, BotoCoreError) as exc:
            notes.append(f"could not list enabled regions ({exc}); regions are only found through the bucket")
    bucket, prefix = parse_s3_uri(source_uri)
    trees = discover_log_prefixes(s3_client, bucket, prefix)
    if org_id and trees and not any(t.org_id == org_id for t in trees if t.service == "CloudTrail"):
        notes.append(f"no CloudTrail logs under {source_uri.rstrip('/')}/AWSLogs/{org_id}/: "
                     "check [catalog] org_id against the trail's S3 prefix")
    return Discovered(
        org_accounts=org_accounts,
        enabled_regions=regions,
        bucket_accounts=tuple(sorted({t.account for t in trees})),
        bucket_regions=tuple(sorted({t.region for t in trees})),
        notes=tuple(notes),
    )


def projection_drift(settings: CatalogSettings, discovered: Discovered) -> list[str]:
    """Warnings, one line each, for every gap between the projection lists and what exists.

    Missing entries are the dangerous kind (logs that no query reads); stale ones only cost a
    few empty partitions, but a closed account still listed usually means the list is not being
    maintained, so they are reported too. An empty list means the projection is complete.
    """
    warnings = list(discovered.notes)
    configured_accounts, configured_regions = set(settings.accounts), set(settings.regions)
    for account in sorted(set(discovered.accounts) - configured_accounts):
        where = []
        if account in discovered.bucket_accounts:
            where.append(f"has logs in {settings.source_uri}")
        if account in discovered.org_accounts:
            name = discovered.org_accounts[account]
            where.append(f"is an ACTIVE organization member{f' ({name})' if name else ''}")
        warnings.append(f"account {account} {' and '.join(where)} but is missing from [catalog] accounts: "
                        "its events are never scanned")
    for region in sorted(set(discovered.regions) - configured_regions):
        where = []
        if region in discovered.bucket_regions:
            where.append(f"has logs in {settings.source_uri}")
        if region in discovered.enabled_regions:
            where.append("is enabled")
        warnings.append(f"region {region} {' and '.join(where)} but is missing from [catalog] regions: "
                        "its events are never scanned")
    org_known = bool(discovered.org_accounts)
    for account in sorted(configured_accounts):
        member = account in discovered.org_accounts
        has_logs = account in discovered.bucket_accounts
        if org_known and not member and has_logs:
            warnings.append(f"account {account} is in [catalog] accounts and has logs, but is no longer an "
                            "ACTIVE organization member: keep it only while its logs are worth scanning")
        elif org_known and not member:
            warnings.append(f"account {account} is in [catalog] accounts but is not an ACTIVE organization "
                            "member and has no logs in the bucket: closed or removed?")
        elif not org_known and not has_logs:
            warnings.append(f"account {account} is in [catalog] accounts but has no logs in the bucket")
    if discovered.enabled_regions or discovered.bucket_regions:
        for region in sorted(configured_regions - set(discovered.regions)):
            warnings.append(f"region {region} is in [catalog] regions but is neither enabled nor present "
                            "in the bucket: disabled, or misspelt?")
    return warnings


def suggested_lists(settings: CatalogSettings, discovered: Discovered) -> dict[str, list[str]]:
    """The ``[catalog]`` accounts and regions that close every gap (configured plus discovered)."""
    return {
        "accounts": sorted(set(settings.accounts) | set(discovered.accounts)),
        "regions": sorted(set(settings.regions) | set(discovered.regions)),
    }
