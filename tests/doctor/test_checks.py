"""`trailguard doctor`: every check holds on a healthy deployment in moto, and each seeded
misconfiguration is reported by its check's name.

moto serves CloudTrail, Glue, Athena, EventBridge, Lambda and S3. It has no GuardDuty publishing
destinations (and no trail delivery errors), so GuardDuty, and the one trail case that needs an
error, use botocore's Stubber with responses shaped by the real API model.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from typer.testing import CliRunner

from pipeline.catalog.athena import catalog_settings
from pipeline.catalog.glue import deploy_catalog
from pipeline.catalog.specs import load_specs
from pipeline.cli import app
from pipeline.config import Settings
from pipeline.doctor import Clients, Problem, run_checks
from pipeline.runs.state import open_state_store
from pipeline.times import iso_z, utcnow
from tests.deploy.support import _lambda_arn

pytestmark = pytest.mark.aws

REGION, OTHER = "us-east-1", "eu-west-1"
ACCOUNT = "123456789012"
BUCKET = "tg-logs"
TRAIL = "trailguard-org-trail"
RULE = "trailguard-guardduty-findings"
STATE = f"s3://{BUCKET}/trailguard/state"


def settings() -> Settings:
    s = Settings().with_overrides(
        engine="athena", source=f"s3://{BUCKET}", state=STATE, org_id="o-abcdefghij"
    )
    s.raw["catalog"].update(accounts=[ACCOUNT], regions=[REGION, OTHER])
    s.raw["athena"].update(region=REGION, workgroup="trailguard")
    return s


def detector(features: dict[str, str] | None = None) -> dict[str, Any]:
    features = features or {"S3_DATA_EVENTS": "ENABLED", "EKS_AUDIT_LOGS": "ENABLED"}
    return {
        "Status": "ENABLED",
        "ServiceRole": f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/guardduty",
        "Features": [{"Name": n, "Status": s} for n, s in features.items()],
    }


def guardduty(
    region: str,
    *,
    detectors: list[str] | None = None,
    features: dict[str, str] | None = None,
    destinations: bool = True,
    bucket: str = BUCKET,
) -> Any:
    """A GuardDuty client for ``region`` answering the doctor's calls, in order, from the stub."""
    client = boto3.client("guardduty", region_name=region)
    stub = Stubber(client)
    ids = ["d-1"] if detectors is None else detectors
    stub.add_response("list_detectors", {"DetectorIds": ids})
    if ids:
        stub.add_response("get_detector", detector(features), {"DetectorId": "d-1"})
        listed = (
            [{"DestinationId": "p-1", "DestinationType": "S3", "Status": "PUBLISHING"}]
            if destinations
            else []
        )
        stub.add_response("list_publishing_destinations", {"Destinations": listed}, {"DetectorId": "d-1"})
        if destinations:
            stub.add_response(
                "describe_publishing_destination",
                {
                    "DestinationId": "p-1",
                    "DestinationType": "S3",
                    "Status": "PUBLISHING",
                    "PublishingFailureStartTimestamp": 0,
                    "DestinationProperties": {
                        "DestinationArn": f"arn:aws:s3:::{bucket}/AWSLogs",
                        "KmsKeyArn": f"arn:aws:kms:{region}:{ACCOUNT}:key/k",
                    },
                },
                {"DetectorId": "d-1", "DestinationId": "p-1"},
            )
    stub.activate()
    return client


class World:
    """A healthy deployment in moto plus stubbed GuardDuty; tests break one thing each."""

    def __init__(self, aws_client: Callable[..., Any]) -> None:
        self.aws = aws_client
        self.stubs: dict[tuple[str, str | None], Any] = {
            ("guardduty", REGION): guardduty(REGION),
            ("guardduty", OTHER): guardduty(OTHER),
        }
        self.settings = settings()
        s3 = aws_client("s3")
        s3.create_bucket(Bucket=BUCKET)
        aws_client("organizations").create_organization(FeatureSet="ALL")
        cloudtrail = aws_client("cloudtrail")
        cloudtrail.create_trail(
            Name=TRAIL,
            S3BucketName=BUCKET,
            IsMultiRegionTrail=True,
            IsOrganizationTrail=True,
            EnableLogFileValidation=True,
        )
        cloudtrail.start_logging(Name=TRAIL)
        deploy_catalog(catalog_settings(self.settings), load_specs(), aws_client("glue"))
        aws_client("athena").create_work_group(
            Name="trailguard",
            Configuration={
                "BytesScannedCutoffPerQuery": 10 * 1024**3,
                "EnforceWorkGroupConfiguration": True,
                "ResultConfiguration": {"OutputLocation": f"s3://{BUCKET}/trailguard/athena-results/"},
            },
        )
        self.response_arn = _lambda_arn(aws_client, "trailguard-response")
        events = aws_client("events")
        events.put_rule(Name=RULE, EventPattern='{"source": ["aws.guardduty"]}')
        events.put_targets(Rule=RULE, Targets=[{"Id": "trailguard-response", "Arn": self.response_arn}])
        self.tick(utcnow() - timedelta(minutes=10))

    def tick(self, when: Any) -> None:
        store = open_state_store(STATE, s3_client=self.aws("s3"))
        state, version = store.load("root_account_usage")
        state.last_run = iso_z(when)
        store.save(state, version)

    def factory(self, service: str, region: str | None) -> Any:
        return self.stubs.get((service, region)) or self.aws(service)

    def problems(self, *only: str, now: Any = None) -> list[Problem]:
        return run_checks(self.settings, Clients(self.factory), now=now, only=only or None)


@pytest.fixture
def world(aws_client: Callable[..., Any]) -> World:
    return World(aws_client)


def lines(problems: list[Problem]) -> list[str]:
    return [str(p) for p in problems]


def test_a_healthy_deployment_has_no_problems(world: World) -> None:
    assert lines(world.problems()) == []


# --- trail ------------------------------------------------------------------------------------


def test_trail_not_logging(world: World) -> None:
    world.aws("cloudtrail").stop_logging(Name=TRAIL)
    assert lines(world.problems()) == [f"trail: trail {TRAIL} is not logging"]


def test_trail_single_region_without_validation(world: World) -> None:
    world.aws("cloudtrail").update_trail(Name=TRAIL, IsMultiRegionTrail=False, EnableLogFileValidation=False)
    assert lines(world.problems()) == [
        f"trail: trail {TRAIL} is not multi-region",
        f"trail: trail {TRAIL} has log file validation off",
    ]


def test_trail_not_organization_wide(world: World) -> None:
    world.aws("cloudtrail").update_trail(Name=TRAIL, IsOrganizationTrail=False)
    assert lines(world.problems()) == [f"trail: trail {TRAIL} is not an organization trail"]


def test_trail_delivery_stale(world: World) -> None:
    later = utcnow() + timedelta(hours=3)  # moto's trail delivered when it started logging, just now
    [line] = lines(world.problems("trail", now=later))
    assert re.fullmatch(rf"trail: trail {TRAIL} last delivered 1[78]\d minutes ago \(limit 60\)", line), line


def test_trail_missing(world: World) -> None:
    world.aws("cloudtrail").delete_trail(Name=TRAIL)
    assert lines(world.problems("trail")) == [f"trail: cannot read trail {TRAIL} (TrailNotFoundException)"]


def test_trail_delivery_error(world: World) -> None:
    client = boto3.client("cloudtrail", region_name=REGION)
    stub = Stubber(client)
    stub.add_response(
        "get_trail",
        {
            "Trail": {
                "Name": TRAIL,
                "IsMultiRegionTrail": True,
                "IsOrganizationTrail": True,
                "LogFileValidationEnabled": True,
            }
        },
        {"Name": TRAIL},
    )
    stub.add_response(
        "get_trail_status",
        {"IsLogging": True, "LatestDeliveryTime": utcnow(), "LatestDeliveryError": "AccessDenied"},
        {"Name": TRAIL},
    )
    stub.activate()
    world.stubs[("cloudtrail", REGION)] = client
    assert lines(world.problems("trail")) == [f"trail: trail {TRAIL} delivery error: AccessDenied"]


# --- GuardDuty --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stubbed", "expected"),
    [
        ({"detectors": []}, f"guardduty: {OTHER}: no GuardDuty detector"),
        (
            {"features": {"S3_DATA_EVENTS": "ENABLED", "EKS_AUDIT_LOGS": "DISABLED"}},
            f"guardduty: {OTHER}: detector d-1 has EKS_AUDIT_LOGS off",
        ),
        (
            {"destinations": False},
            f"guardduty: {OTHER}: detector d-1 exports findings nowhere (no S3 destination)",
        ),
        (
            {"bucket": "somewhere-else"},
            f"guardduty: {OTHER}: findings export goes to somewhere-else, not {BUCKET}",
        ),
    ],
    ids=["no-detector", "feature-off", "no-export", "export-elsewhere"],
)
def test_guardduty_misconfigured_in_one_region(world: World, stubbed: dict[str, Any], expected: str) -> None:
    world.stubs[("guardduty", OTHER)] = guardduty(OTHER, **stubbed)
    assert lines(world.problems()) == [expected]


def test_guardduty_legacy_data_sources_count(world: World) -> None:
    """An older detector answers with DataSources, not Features: read that too."""
    client = boto3.client("guardduty", region_name=OTHER)
    stub = Stubber(client)
    stub.add_response("list_detectors", {"DetectorIds": ["d-1"]})
    legacy = {k: v for k, v in detector().items() if k != "Features"}
    legacy["DataSources"] = {
        "CloudTrail": {"Status": "ENABLED"},
        "DNSLogs": {"Status": "ENABLED"},
        "FlowLogs": {"Status": "ENABLED"},
        "S3Logs": {"Status": "DISABLED"},
        "Kubernetes": {"AuditLogs": {"Status": "ENABLED"}},
    }
    stub.add_response("get_detector", legacy, {"DetectorId": "d-1"})
    stub.add_response("list_publishing_destinations", {"Destinations": []}, {"DetectorId": "d-1"})
    stub.activate()
    world.stubs[("guardduty", OTHER)] = client
    assert lines(world.problems("guardduty")) == [
        f"guardduty: {OTHER}: detector d-1 has S3_DATA_EVENTS off",
        f"guardduty: {OTHER}: detector d-1 exports findings nowhere (no S3 destination)",
    ]


# --- Glue tables ------------------------------------------------------------------------------


def _update(world: World, name: str, change: Callable[[dict[str, Any]], None]) -> None:
    glue = world.aws("glue")
    table = glue.get_table(DatabaseName="trailguard", Name=name)["Table"]
    table_input = {
        k: table[k]
        for k in ("Name", "Description", "TableType", "Parameters", "PartitionKeys", "StorageDescriptor")
        if k in table
    }
    change(table_input)
    glue.update_table(DatabaseName="trailguard", TableInput=table_input)


def test_glue_column_dropped(world: World) -> None:
    _update(world, "cloudtrail", lambda t: t["StorageDescriptor"]["Columns"].pop())
    [line] = lines(world.problems())
    assert line.startswith("glue_tables: table cloudtrail columns differ from glue/ (missing ")


def test_glue_projection_list_stale(world: World) -> None:
    _update(world, "cloudtrail", lambda t: t["Parameters"].update({"projection.region.values": REGION}))
    assert lines(world.problems()) == [
        f"glue_tables: table cloudtrail projection.region.values is '{REGION}', "
        f"[catalog] says '{REGION},{OTHER}'"
    ]


def test_glue_table_missing(world: World) -> None:
    world.aws("glue").delete_table(DatabaseName="trailguard", Name="guardduty_findings")
    assert lines(world.problems()) == ["glue_tables: table trailguard.guardduty_findings is missing"]


# --- workgroup, rule, runner --------------------------------------------------------------------


def test_workgroup_without_cutoff(world: World) -> None:
    # (moto has no UpdateWorkGroup: point the configuration at a second, loose workgroup instead)
    athena = world.aws("athena")
    athena.create_work_group(Name="loose", Configuration={"EnforceWorkGroupConfiguration": False})
    world.settings.raw["athena"]["workgroup"] = "loose"
    assert lines(world.problems()) == [
        "workgroup: workgroup loose has no bytes-scanned cutoff per query",
        "workgroup: workgroup loose does not enforce its configuration (a client can override the cutoff)",
    ]


def test_rule_targets_another_function(world: World) -> None:
    other = _lambda_arn(world.aws, "something-else")
    events = world.aws("events")
    events.remove_targets(Rule=RULE, Ids=["trailguard-response"])
    events.put_targets(Rule=RULE, Targets=[{"Id": "other", "Arn": other}])
    assert lines(world.problems()) == [
        f"eventbridge_rule: rule {RULE} targets {other}, not the response function trailguard-response"
    ]


def test_rule_missing(world: World) -> None:
    events = world.aws("events")
    events.remove_targets(Rule=RULE, Ids=["trailguard-response"])
    events.delete_rule(Name=RULE)
    assert lines(world.problems()) == [f"eventbridge_rule: rule {RULE} is missing"]


def test_runner_tick_too_old(world: World) -> None:
    world.tick(utcnow() - timedelta(hours=5))
    [line] = lines(world.problems())
    assert line.startswith("runner_tick: last successful tick ") and line.endswith("minutes old (limit 60)")


def test_runner_never_ticked(world: World) -> None:
    world.aws("s3").delete_objects(
        Bucket=BUCKET,
        Delete={
            "Objects": [{"Key": o["Key"]} for o in world.aws("s3").list_objects_v2(Bucket=BUCKET)["Contents"]]
        },
    )
    assert lines(world.problems()) == [f"runner_tick: no successful tick recorded in {STATE}"]


# --- the command ----------------------------------------------------------------------------


def test_command_exit_codes(
    world: World, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, moto_endpoint: str
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    config = tmp_path / "trailguard.toml"
    config.write_text(
        f'engine = "athena"\nsource = "s3://{BUCKET}"\nstate = "{STATE}"\norg_id = "o-abcdefghij"\n'
        f'[catalog]\naccounts = ["{ACCOUNT}"]\nregions = ["{REGION}"]\n'
        f'[athena]\nregion = "{REGION}"\nworkgroup = "trailguard"\n',
        encoding="utf-8",
    )
    runner = CliRunner()
    checks = [
        "--check",
        "trail",
        "--check",
        "workgroup",
        "--check",
        "runner_tick",
        "--check",
        "eventbridge_rule",
    ]
    ok = runner.invoke(app, ["doctor", "--config", str(config), *checks])
    assert ok.exit_code == 0, ok.output
    assert "ok: 4 check(s) hold" in ok.output
    world.aws("cloudtrail").stop_logging(Name=TRAIL)
    bad = runner.invoke(app, ["doctor", "--config", str(config), *checks])
    assert bad.exit_code == 1
    assert f"trail: trail {TRAIL} is not logging" in bad.output
    usage = runner.invoke(app, ["doctor", "--config", str(config), "--check", "nonsense"])
    assert usage.exit_code == 2 and "nonsense is not one of" in usage.output
