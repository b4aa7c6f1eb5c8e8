"""Security Hub sink against moto: batching, upsert by Id, the ASFF fields, failures named.

moto stores imported findings as sent and replaces one with the same Id; it checks only that
Resources is non-empty, not the rest of ASFF, nor that AwsAccountId is the caller's account
(which real Security Hub requires with the default product ARN). So the field checks here are
this project's own.
"""

from __future__ import annotations

import re
import socket
from datetime import UTC, datetime

import pytest

from pipeline.config import ConfigError, Settings
from pipeline.findings.model import Finding
from pipeline.sinks import Sink, SinkError, build_sinks, make_delivery
from pipeline.sinks.securityhub import SecurityHubSink, asff_types, iso_z
from tests.helpers import REGION

pytestmark = pytest.mark.aws

MOTO_ACCOUNT = "123456789012"  # what moto's STS says the caller is
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def finding(n: int, events: int = 2, account: str | None = "111111111111", **extra: object) -> Finding:
    values: dict = dict(
        detection_id="security_group_open_to_world", finding_id=f"{n:032x}", severity="high",
        title="Security group opened to the world", event_ids=[f"ev-{n}-{i}" for i in range(events)],
        account_id=account, region="eu-west-1", principal="arn:aws:sts::111111111111:assumed-role/Admin/bob",
        first_seen="2026-01-15 10:00:00", last_seen="2026-01-15T10:05:00+00:00", event_count=events,
        source_ip="198.51.100.7", attack=["T1562.007", "T1133"], runbook="Revoke the rule. " * 60,
    )
    values.update(extra)
    return Finding(**values)


def all_findings(client) -> list[dict]:
    pages = client.get_paginator("get_findings").paginate()
    return [f for page in pages for f in page["Findings"]]


@pytest.fixture
def hub(aws_client):
    client = aws_client("securityhub")
    client.enable_security_hub()
    return client


@pytest.fixture
def import_sizes(hub) -> list[int]:
    """Sizes of the BatchImportFindings calls made through ``hub``."""
    sizes: list[int] = []
    hub.meta.events.register("provide-client-params.securityhub.BatchImportFindings",
                             lambda params, **_: sizes.append(len(params["Findings"])))
    return sizes


def test_250_findings_go_in_3_batches_and_reimport_updates_in_place(hub, import_sizes, moto_endpoint):
    sink = SecurityHubSink(REGION, client=hub, endpoint_url=moto_endpoint)
    assert isinstance(sink, Sink) and sink.idempotent is True and sink.name == f"securityhub:{REGION}"
    deliveries = [make_delivery(finding(n)) for n in range(250)]
    sink.deliver(deliveries)
    assert import_sizes == [100, 100, 50]
    assert len(all_findings(hub)) == 250

    sink.deliver(deliveries)  # a repeat after a crash: same Ids, no duplicates
    grown = make_delivery(finding(7, events=5), is_update=True)
    sink.deliver([grown])
    stored = all_findings(hub)
    assert len(stored) == 250 and len({f["Id"] for f in stored}) == 250
    [seven] = [f for f in stored if f["Id"] == finding(7).finding_id]
    assert seven["ProductFields"]["trailguard/event_count"] == "5"
    assert seven["ProductFields"]["trailguard/delivery_id"] == grown.delivery_id


def test_asff_fields(hub, moto_endpoint):
    now = datetime(2026, 1, 16, 8, 30, 0, 123456, tzinfo=UTC)
    sink = SecurityHubSink(REGION, client=hub, endpoint_url=moto_endpoint, clock=lambda: now)
    sink.deliver([make_delivery(finding(1)), make_delivery(finding(2, account=None, principal=None))])
    stored = {f["Id"]: f for f in all_findings(hub)}
    one, two = stored[finding(1).finding_id], stored[finding(2).finding_id]
    product = f"arn:aws:securityhub:{REGION}:{MOTO_ACCOUNT}:product/{MOTO_ACCOUNT}/default"
    assert one["SchemaVersion"] == "2018-10-08" and one["ProductArn"] == product
    assert one["GeneratorId"] == "trailguard/security_group_open_to_world"
    # Filed under the importing account (what Security Hub accepts); the member account is a resource.
    assert one["AwsAccountId"] == MOTO_ACCOUNT and two["AwsAccountId"] == MOTO_ACCOUNT
    member = {"Type": "AwsAccount", "Id": "AWS::::Account:111111111111", "Region": "eu-west-1"}
    assert member in one["Resources"]
    assert one["ProductFields"]["trailguard/account_id"] == "111111111111"
    assert one["Region"] == REGION
    assert one["Types"] == [
        "TTPs/Defense Evasion/T1562.007", "TTPs/Initial Access/T1133",
        "Software and Configuration Checks/AWS Security Best Practices/Network Reachability",
    ]
    assert one["FindingProviderFields"]["Types"] == one["Types"]
    assert one["CreatedAt"] == one["FirstObservedAt"] == "2026-01-15T10:00:00.000Z"
    assert one["LastObservedAt"] == "2026-01-15T10:05:00.000Z"
    assert one["UpdatedAt"] == "2026-01-16T08:30:00.123Z"
    assert all(ISO_Z.match(one[k]) for k in ("CreatedAt", "UpdatedAt", "FirstObservedAt", "LastObservedAt"))
    assert one["Severity"] == {"Label": "HIGH", "Original": "high"}
    assert one["Title"] == "Security group opened to the world"
    assert len(one["Description"]) <= 1024 and "198.51.100.7" in one["Description"]
    role = "arn:aws:sts::111111111111:assumed-role/Admin/bob"
    assert one["Resources"] == [
        {"Type": "AwsIamRole", "Id": role, "Region": "eu-west-1"},
        {"Type": "AwsAccount", "Id": "AWS::::Account:111111111111", "Region": "eu-west-1"},
    ]
    assert two["Resources"] == [
        {"Type": "AwsAccount", "Id": f"AWS::::Account:{MOTO_ACCOUNT}", "Region": "eu-west-1"},
    ]
    text = one["Remediation"]["Recommendation"]["Text"]
    assert len(text) <= 512 and text.startswith("Revoke the rule.")
    fields = one["ProductFields"]
    assert fields["trailguard/detection_id"] == "security_group_open_to_world"
    assert fields["trailguard/event_ids"] == "ev-1-0,ev-1-1" and fields["ProviderName"] == "trailguard"
    assert fields["ProviderVersion"]


def test_configured_account_and_product_arn(hub, moto_endpoint):
    arn = "arn:aws:securityhub:us-east-1:999999999999:product/999999999999/default"
    sink = SecurityHubSink(REGION, account_id="333333333333", product_arn=arn, client=hub,
                           endpoint_url=moto_endpoint)
    sink.deliver([make_delivery(finding(1, account=None))])
    [stored] = all_findings(hub)
    assert stored["ProductArn"] == arn and stored["AwsAccountId"] == "333333333333"


def test_failed_findings_are_named(hub, moto_endpoint):
    broken = finding(3).finding_id

    def drop_resources(params, **_):  # moto rejects a finding without Resources
        for f in params["Findings"]:
            if f["Id"] == broken:
                f["Resources"] = []

    hub.meta.events.register("provide-client-params.securityhub.BatchImportFindings", drop_resources)
    sink = SecurityHubSink(REGION, client=hub, endpoint_url=moto_endpoint)
    with pytest.raises(SinkError) as info:
        sink.deliver([make_delivery(finding(n)) for n in range(1, 6)])
    message = str(info.value)
    assert message.startswith(
        f"securityhub sink 'securityhub:{REGION}': 1 of 5 finding(s) not imported ({broken})"
    )
    assert "InvalidInput" in message
    assert len(all_findings(hub)) == 4  # the others went in; a retry of all five is harmless


def test_unreachable_endpoint_is_a_sink_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = SecurityHubSink(REGION, account_id="111111111111", endpoint_url=f"http://127.0.0.1:{port}",
                           max_attempts=1)
    with pytest.raises(SinkError, match=r"2 of 2 finding\(s\) not imported .*Could not connect"):
        sink.deliver([make_delivery(finding(1)), make_delivery(finding(2))])


def test_build_sinks(moto_endpoint, aws_client):
    settings = Settings(raw={"sinks": [{"type": "securityhub", "min_severity": "medium"},
                                       {"type": "securityhub", "region": "eu-west-1", "name": "eu",
                                        "account_id": "111111111111"}]})
    default, eu = build_sinks(settings, environ={"AWS_DEFAULT_REGION": REGION}, endpoint_url=moto_endpoint)
    assert (default.region, default.min_severity, eu.region, eu.name) == (REGION, "medium", "eu-west-1", "eu")
    default.deliver([make_delivery(finding(1))])
    assert len(all_findings(aws_client("securityhub"))) == 1


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({}, "sinks[0] (securityhub): region: not set, and neither is AWS_REGION or AWS_DEFAULT_REGION"),
        ({"region": REGION, "account_id": "12345"}, "sinks[0] (securityhub): account_id: '12345' is not"),
        ({"region": REGION, "product_arn": "arn:aws:s3:::x"}, "sinks[0] (securityhub): product_arn:"),
        ({"region": REGION, "min_severity": "HIGHEST"}, "sinks[0] (securityhub): min_severity: 'HIGHEST'"),
    ],
)
def test_bad_securityhub_config(table, message):
    with pytest.raises(ConfigError) as info:
        build_sinks(Settings(raw={"sinks": [{"type": "securityhub", **table}]}), environ={})
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_types_and_timestamps():
    assert asff_types("discovery_burst", ["T1580", "T1526", "T1087.004"]) == [
        "TTPs/Discovery/T1580", "TTPs/Discovery/T1526", "TTPs/Discovery/T1087.004"]
    assert asff_types("s3_bucket_made_public", ["T1530"]) == [
        "TTPs/Collection/T1530", "Effects/Data Exposure"]
    assert asff_types("something_new", ["T9999"]) == [
        "Software and Configuration Checks/AWS Security Best Practices"]
    assert iso_z("2026-01-15 10:00:00") == "2026-01-15T10:00:00.000Z"
    assert iso_z("2026-01-15T12:00:00.5+02:00") == "2026-01-15T10:00:00.500Z"
    assert iso_z("2026-01-15T10:00:00Z") == "2026-01-15T10:00:00.000Z"
    assert iso_z("yesterday") is None and iso_z(None) is None


def test_accounts_finding_files_each_under_its_own_account(hub, moto_endpoint):
    sink = SecurityHubSink(REGION, client=hub, endpoint_url=moto_endpoint, accounts="finding")
    sink.deliver([make_delivery(finding(1))])
    (stored,) = all_findings(hub)
    assert stored["AwsAccountId"] == "111111111111"
