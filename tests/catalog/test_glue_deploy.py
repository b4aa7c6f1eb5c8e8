"""Glue deploy (idempotent, projection from the specs) and projection drift against moto."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from botocore.stub import Stubber

from pipeline.catalog.athena import CatalogSettings, projection_properties
from pipeline.catalog.glue import (
    Discovered,
    deploy_catalog,
    discover_partitions,
    projection_drift,
    suggested_lists,
)
from pipeline.catalog.specs import load_specs

pytestmark = pytest.mark.aws

SPECS = load_specs()
BUCKET = "org-trail-logs"


def catalog_settings(**overrides: Any) -> CatalogSettings:
    values: dict[str, Any] = {"database": "trailguard", "source_uri": f"s3://{BUCKET}/logs",
                              "org_id": "o-abcdefghij", "accounts": ("111111111111", "222222222222"),
                              "regions": ("us-east-1", "eu-west-1"), "lake_uri": f"s3://{BUCKET}/lake"}
    values.update(overrides)
    return CatalogSettings(**values)


def test_deploy_creates_database_and_tables_from_the_specs(aws_client: Any) -> None:
    glue = aws_client("glue")
    settings = catalog_settings()
    actions = deploy_catalog(settings, SPECS, glue)

    assert actions == [("trailguard", "database created")] + [
        (f"trailguard.{name}", "created") for name in SPECS]
    assert sorted(t["Name"] for t in glue.get_tables(DatabaseName="trailguard")["TableList"]) == sorted(
        ["cloudtrail", "cloudtrail_hot", "cloudtrail_parquet", "guardduty_findings",
         "guardduty_findings_parquet"])
    for name, spec in SPECS.items():
        table = glue.get_table(DatabaseName="trailguard", Name=name)["Table"]
        params = table["Parameters"]
        for key, value in projection_properties(spec, settings).items():
            assert params[key] == value, (name, key)
        hot = name == "cloudtrail_hot"  # partitioned by the tick's batch only
        assert params.get("projection.account.values") == (None if hot else "111111111111,222222222222")
        assert params.get("projection.region.values") == (None if hot else "us-east-1,eu-west-1")
        assert params["EXTERNAL"] == "TRUE"
        assert table["TableType"] == "EXTERNAL_TABLE"
        columns = table["StorageDescriptor"]["Columns"]
        assert [(c["Name"], c["Type"]) for c in columns] == [(c.name, c.hive_type()) for c in spec.columns]
        partitions = ["batch"] if hot else ["account", "region", "day"]
        assert [k["Name"] for k in table["PartitionKeys"]] == partitions
        assert table["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == spec.athena["serde"]

    cloudtrail = glue.get_table(DatabaseName="trailguard", Name="cloudtrail")["Table"]
    assert cloudtrail["StorageDescriptor"]["Location"] == f"s3://{BUCKET}/logs/AWSLogs/o-abcdefghij/"
    assert cloudtrail["Parameters"]["storage.location.template"] == (
        f"s3://{BUCKET}/logs/AWSLogs/o-abcdefghij/${{account}}/CloudTrail/${{region}}/${{day}}")
    columns = {c["Name"]: c["Type"] for c in cloudtrail["StorageDescriptor"]["Columns"]}
    assert columns["eventtime"] == "string"
    assert columns["useridentity"].startswith("struct<")
    assert columns["requestparameters"] == "string"


def test_second_deploy_updates_and_carries_new_accounts(aws_client: Any) -> None:
    glue = aws_client("glue")
    deploy_catalog(catalog_settings(), SPECS, glue)
    widened = catalog_settings(accounts=("111111111111", "222222222222", "333333333333"))
    actions = deploy_catalog(widened, SPECS.values(), glue)

    assert actions[0] == ("trailguard", "database exists")
    assert {action for _, action in actions[1:]} == {"updated"}
    assert len(actions) == 1 + len(SPECS)
    table = glue.get_table(DatabaseName="trailguard", Name="guardduty_findings")["Table"]
    assert table["Parameters"]["projection.account.values"] == "111111111111,222222222222,333333333333"
    assert len(glue.get_tables(DatabaseName="trailguard")["TableList"]) == 5


# --- drift --------------------------------------------------------------------------------------

def put(s3: Any, key: str) -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"{}")


@pytest.fixture
def org_world(aws_client: Any) -> dict[str, Any]:
    """An organization with a new member account whose logs already arrive, in a new region too."""
    org = aws_client("organizations")
    org_id = org.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    management = org.describe_organization()["Organization"]["MasterAccountId"]
    new_account = org.create_account(Email="payments@example.com", AccountName="payments")[
        "CreateAccountStatus"]["AccountId"]
    s3 = aws_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    base = f"logs/AWSLogs/{org_id}"
    put(s3, f"{base}/{management}/CloudTrail/us-east-1/2024/05/01/a.json.gz")
    put(s3, f"{base}/{new_account}/CloudTrail/us-east-1/2024/05/01/b.json.gz")
    # A region no list in the code knows: it must be reported like any other, never rejected.
    put(s3, f"{base}/{new_account}/CloudTrail/xx-future-1/2024/05/01/c.json.gz")
    # Digests are not event data: their region must not count as having logs.
    put(s3, f"{base}/{management}/CloudTrail-Digest/zz-digest-1/2024/05/01/d.json.gz")
    put(s3, f"logs/AWSLogs/{management}/GuardDuty/us-east-1/2024/05/01/e.jsonl.gz")
    return {"org_id": org_id, "management": management, "new_account": new_account}


def test_drift_warns_about_a_new_account_and_region(aws_client: Any, org_world: dict[str, Any]) -> None:
    discovered = discover_partitions(aws_client("organizations"), aws_client("ec2"), aws_client("s3"),
                                     f"s3://{BUCKET}/logs", org_world["org_id"])
    management, new_account = org_world["management"], org_world["new_account"]
    assert discovered.org_accounts == {management: "master", new_account: "payments"}
    assert set(discovered.bucket_accounts) == {management, new_account}
    assert set(discovered.bucket_regions) == {"us-east-1", "xx-future-1"}
    assert "us-east-1" in discovered.enabled_regions
    assert discovered.notes == ()

    settings = catalog_settings(org_id=org_world["org_id"], accounts=(management, "999999999999"),
                                regions=discovered.enabled_regions)
    warnings = projection_drift(settings, discovered)
    new = [w for w in warnings if new_account in w]
    assert len(new) == 1
    assert "has logs in" in new[0] and "ACTIVE organization member (payments)" in new[0]
    assert "missing from [catalog] accounts" in new[0]
    assert any("region xx-future-1 has logs" in w and "missing from [catalog] regions" in w for w in warnings)
    assert any("account 999999999999" in w and "closed or removed" in w for w in warnings)
    assert not any("zz-digest-1" in w for w in warnings)
    assert len(warnings) == 3

    fixed = suggested_lists(settings, discovered)
    assert new_account in fixed["accounts"] and "xx-future-1" in fixed["regions"]
    clean = replace(settings, accounts=tuple(a for a in fixed["accounts"] if a != "999999999999"),
                    regions=tuple(fixed["regions"]))
    assert projection_drift(clean, discovered) == []


def test_unreadable_organization_becomes_a_note(aws_client: Any) -> None:
    """Not the management account: drift still runs on the bucket, and says what it could not see."""
    s3 = aws_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    put(s3, "logs/AWSLogs/o-abcdefghij/444444444444/CloudTrail/eu-west-1/2024/05/01/a.json.gz")
    org = aws_client("organizations")
    with Stubber(org) as stub:  # moto answers an empty list here; AWS refuses, as stubbed
        stub.add_client_error("list_accounts", "AccessDeniedException", "not the management account")
        discovered = discover_partitions(org, None, s3, f"s3://{BUCKET}/logs", "o-abcdefghij")
    assert discovered.org_accounts == {}
    assert len(discovered.notes) == 1
    assert "could not list the accounts" in discovered.notes[0] and "AccessDenied" in discovered.notes[0]
    warnings = projection_drift(catalog_settings(), discovered)
    assert warnings[0] == discovered.notes[0]
    assert any("account 444444444444 has logs" in w for w in warnings)
    assert any("account 111111111111" in w and "no logs" in w for w in warnings)
    assert any("region us-east-1 is in [catalog] regions" in w for w in warnings)


def test_empty_organization_listing_becomes_a_note(aws_client: Any) -> None:
    s3 = aws_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    discovered = discover_partitions(aws_client("organizations"), aws_client("ec2"), s3,
                                     f"s3://{BUCKET}/logs", None)
    assert discovered.org_accounts == {} and discovered.bucket_accounts == ()
    assert len(discovered.notes) == 1 and "listed no ACTIVE account" in discovered.notes[0]


def test_stale_member_with_logs_is_kept_but_reported() -> None:
    discovered = Discovered(org_accounts={"111111111111": "a"}, enabled_regions=("us-east-1",),
                            bucket_accounts=("111111111111", "222222222222"), bucket_regions=("us-east-1",))
    warnings = projection_drift(catalog_settings(regions=("us-east-1",)), discovered)
    assert warnings == ["account 222222222222 is in [catalog] accounts and has logs, but is no longer an "
                        "ACTIVE organization member: keep it only while its logs are worth scanning"]
