"""The doctor's checks: one function per part of the deployment, each returning its problems.

A check never raises for something it finds: an AWS error (access denied, a missing resource,
no credentials) is a problem line naming the call, because "doctor crashed" tells nobody which
part is broken. What each check expects comes from the configuration (``[doctor]``, plus
``[catalog]``, ``[athena]`` and ``state``), so a deployment with other names is checked as it is.

::

    [doctor]
    trail = "trailguard-org-trail"          # name or ARN
    trail_region = ""                       # default [athena] region, then AWS_REGION
    regions = []                            # GuardDuty regions; default [catalog] regions
    guardduty_features = ["S3_DATA_EVENTS", "EKS_AUDIT_LOGS"]
    export_bucket = ""                      # GuardDuty export destination; default the source bucket
    rule = "trailguard-guardduty-findings"
    response_function = "trailguard-response"   # name or ARN the rule must target
    max_delivery_age_minutes = 60           # the trail's latest delivery
    max_tick_age_minutes = 60               # the runner's latest successful tick
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pipeline.catalog.athena import catalog_settings, glue_table_input
from pipeline.catalog.specs import CatalogError, load_specs
from pipeline.config import ConfigError, Settings
from pipeline.detections.spec import load_detections
from pipeline.runs.state import open_state_store
from pipeline.times import iso_z, parse_iso, utcnow

ClientFactory = Callable[[str, str | None], Any]
# GuardDuty feature names (GetDetector Features) and where the older DataSources block says the same.
_LEGACY_SOURCES = {"S3_DATA_EVENTS": ("S3Logs",), "EKS_AUDIT_LOGS": ("Kubernetes", "AuditLogs"),
                   "CLOUD_TRAIL": ("CloudTrail",), "DNS_LOGS": ("DNSLogs",), "FLOW_LOGS": ("FlowLogs",)}


@dataclass(frozen=True)
class Problem:
    """One thing that does not hold; ``check`` names the check, ``message`` says what and where."""

    check: str
    message: str

    def __str__(self) -> str:
        return f"{self.check}: {self.message}"


@dataclass(frozen=True)
class DoctorSettings:
    """What the checks expect, resolved once from the configuration."""

    trail: str
    trail_region: str | None
    regions: tuple[str, ...]
    features: tuple[str, ...]
    export_bucket: str
    rule: str
    response_function: str
    workgroup: str
    max_delivery_age: timedelta
    max_tick_age: timedelta
    state: str


def _minutes(section: dict[str, Any], key: str) -> timedelta:
    value = section.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"doctor.{key}: {value!r} is not a positive number of minutes")
    return timedelta(minutes=value)


def doctor_settings(settings: Settings, environ_region: str | None = None) -> DoctorSettings:
    """The expectations, with defaults from the rest of the configuration; ConfigError names a bad key."""
    section = dict(settings.raw.get("doctor") or {})
    athena_region = settings["athena"].get("region") or None
    regions = tuple(section.get("regions") or settings["catalog"]["regions"] or ())
    if not regions:
        raise ConfigError("doctor.regions: none configured, and [catalog] regions is empty")
    source = settings.source
    source_bucket = source[5:].split("/", 1)[0] if source.startswith("s3://") else ""
    bucket = section.get("export_bucket") or source_bucket
    return DoctorSettings(
        trail=str(section.get("trail") or "trailguard-org-trail"),
        trail_region=section.get("trail_region") or athena_region or environ_region,
        regions=tuple(str(r) for r in regions),
        features=tuple(section.get("guardduty_features") or ("S3_DATA_EVENTS", "EKS_AUDIT_LOGS")),
        export_bucket=str(bucket),
        rule=str(section.get("rule") or "trailguard-guardduty-findings"),
        response_function=str(section.get("response_function") or "trailguard-response"),
        workgroup=str(settings["athena"].get("workgroup") or "primary"),
        max_delivery_age=_minutes(section, "max_delivery_age_minutes"),
        max_tick_age=_minutes(section, "max_tick_age_minutes"),
        state=str(settings["state"] or settings.data_dir / "state"),
    )


class Clients:
    """boto3 clients per (service, region), made on first use; tests pass their own ``factory``."""

    def __init__(self, factory: ClientFactory | None = None) -> None:
        self._factory = factory or _boto3_client
        self._made: dict[tuple[str, str | None], Any] = {}

    def __call__(self, service: str, region: str | None = None) -> Any:
        key = (service, region)
        if key not in self._made:
            self._made[key] = self._factory(service, region)
        return self._made[key]


def _boto3_client(service: str, region: str | None) -> Any:
    import boto3

    return boto3.client(service, region_name=region)


def _aws_error(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code") or "error")
    return type(exc).__name__


def _age(when: Any, now: datetime) -> timedelta | None:
    if isinstance(when, datetime):
        return now - when
    if isinstance(when, str) and when:
        return now - parse_iso(when)
    return None


# --- the checks -----------------------------------------------------------------------------


def check_trail(expect: DoctorSettings, clients: Clients, now: datetime) -> list[str]:
    """Logging, multi-region, organization-wide, log file validation on, delivering recently."""
    cloudtrail = clients("cloudtrail", expect.trail_region)
    try:
        trail = cloudtrail.get_trail(Name=expect.trail)["Trail"]
        status = cloudtrail.get_trail_status(Name=expect.trail)
    except (ClientError, BotoCoreError) as exc:
        return [f"cannot read trail {expect.trail} ({_aws_error(exc)})"]
    name, problems = trail.get("Name", expect.trail), []
    if not status.get("IsLogging"):
        problems.append(f"trail {name} is not logging")
    if not trail.get("IsMultiRegionTrail"):
        problems.append(f"trail {name} is not multi-region")
    if not trail.get("IsOrganizationTrail"):
        problems.append(f"trail {name} is not an organization trail")
    if not trail.get("LogFileValidationEnabled"):
        problems.append(f"trail {name} has log file validation off")
    if status.get("LatestDeliveryError"):
        problems.append(f"trail {name} delivery error: {status['LatestDeliveryError']}")
    age = _age(status.get("LatestDeliveryTime"), now)
    if age is None:
        problems.append(f"trail {name} has never delivered a log file")
    elif age > expect.max_delivery_age:
        problems.append(f"trail {name} last delivered {int(age.total_seconds() // 60)} minutes ago "
                        f"(limit {int(expect.max_delivery_age.total_seconds() // 60)})")
    return problems


def _feature_enabled(detector: dict[str, Any], feature: str) -> bool:
    for item in detector.get("Features") or []:
        if item.get("Name") == feature:
            return item.get("Status") == "ENABLED"
    block: Any = detector.get("DataSources") or {}
    for key in _LEGACY_SOURCES.get(feature, (feature,)):
        block = block.get(key) if isinstance(block, dict) else None
    return isinstance(block, dict) and block.get("Status") == "ENABLED"


def _guardduty_region(expect: DoctorSettings, clients: Clients, region: str) -> list[str]:
    guardduty = clients("guardduty", region)
    try:
        detectors = guardduty.list_detectors().get("DetectorIds") or []
        if not detectors:
            return [f"{region}: no GuardDuty detector"]
        detector_id = detectors[0]
        detector = guardduty.get_detector(DetectorId=detector_id)
        problems = []
        if detector.get("Status") != "ENABLED":
            problems.append(f"{region}: detector {detector_id} is {detector.get('Status', 'not enabled')}")
        problems += [f"{region}: detector {detector_id} has {feature} off"
                     for feature in expect.features if not _feature_enabled(detector, feature)]
        listed = guardduty.list_publishing_destinations(DetectorId=detector_id)
        destinations = listed.get("Destinations") or []
        s3 = [d for d in destinations if d.get("DestinationType") == "S3"]
        if not s3:
            return [*problems, f"{region}: detector {detector_id} exports findings nowhere "
                               "(no S3 destination)"]
        for destination in s3:
            described = guardduty.describe_publishing_destination(
                DetectorId=detector_id, DestinationId=destination["DestinationId"])
            arn = (described.get("DestinationProperties") or {}).get("DestinationArn", "")
            bucket = arn.split(":::", 1)[-1].split("/", 1)[0]
            if expect.export_bucket and bucket != expect.export_bucket:
                problems.append(f"{region}: findings export goes to {bucket or '?'}, "
                                f"not {expect.export_bucket}")
            if described.get("Status") != "PUBLISHING":
                problems.append(f"{region}: findings export to {bucket or '?'} is {described.get('Status')}")
        return problems
    except (ClientError, BotoCoreError) as exc:
        return [f"{region}: cannot read GuardDuty ({_aws_error(exc)})"]


def check_guardduty(expect: DoctorSettings, clients: Clients, now: datetime) -> list[str]:
    """Enabled in every configured region, with the expected features and the S3 export in place."""
    return [p for region in expect.regions for p in _guardduty_region(expect, clients, region)]


def _columns(items: Iterable[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(str(c.get("Name", "")).lower(), str(c.get("Type", "")).replace(" ", "").lower()) for c in items]


def _table_problems(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    name = expected["Name"]
    problems = []
    want = _columns(expected["StorageDescriptor"]["Columns"])
    have = _columns((actual.get("StorageDescriptor") or {}).get("Columns") or [])
    if want != have:
        missing = [n for n, _ in want if n not in dict(have)]
        extra = [n for n, _ in have if n not in dict(want)]
        typed = [n for n, t in want if n in dict(have) and dict(have)[n] != t]
        what = "; ".join(part for part in (
            f"missing {', '.join(missing)}" if missing else "",
            f"unexpected {', '.join(extra)}" if extra else "",
            f"other type for {', '.join(typed)}" if typed else "") if part) or "in another order"
        problems.append(f"table {name} columns differ from glue/ ({what})")
    if _columns(expected["PartitionKeys"]) != _columns(actual.get("PartitionKeys") or []):
        problems.append(f"table {name} partition keys differ from glue/")
    parameters = actual.get("Parameters") or {}
    for key, value in expected["Parameters"].items():
        if key.startswith("projection.") and key.endswith(".values") and parameters.get(key) != value:
            problems.append(f"table {name} {key} is {parameters.get(key)!r}, [catalog] says {value!r}")
        elif key == "projection.enabled" and str(parameters.get(key, "")).lower() != "true":
            problems.append(f"table {name} has partition projection off")
    return problems


def check_glue_tables(expect: DoctorSettings, clients: Clients, now: datetime,
                      settings: Settings) -> list[str]:
    """Every table in glue/ exists with its columns, and its projection lists equal [catalog]'s."""
    try:
        catalog = catalog_settings(settings)
        specs = load_specs()
    except (CatalogError, ConfigError) as exc:
        return [str(exc)]
    glue = clients("glue", settings["athena"].get("region") or None)
    problems = []
    for spec in specs.values():
        try:
            expected = glue_table_input(spec, catalog)
        except CatalogError as exc:
            return [str(exc)]
        try:
            actual = glue.get_table(DatabaseName=catalog.database, Name=spec.name)["Table"]
        except (ClientError, BotoCoreError) as exc:
            code = _aws_error(exc)
            table = f"{catalog.database}.{spec.name}"
            problems.append(f"table {table} is missing" if code == "EntityNotFoundException"
                            else f"cannot read table {table} ({code})")
            continue
        problems += _table_problems(expected, actual)
    return problems


def check_workgroup(expect: DoctorSettings, clients: Clients, now: datetime, settings: Settings) -> list[str]:
    """The workgroup exists, is enabled, enforces its settings and has a bytes-scanned cutoff."""
    athena = clients("athena", settings["athena"].get("region") or None)
    try:
        group = athena.get_work_group(WorkGroup=expect.workgroup)["WorkGroup"]
    except (ClientError, BotoCoreError) as exc:
        return [f"cannot read workgroup {expect.workgroup} ({_aws_error(exc)})"]
    config, problems = group.get("Configuration") or {}, []
    if group.get("State", "ENABLED") != "ENABLED":
        problems.append(f"workgroup {expect.workgroup} is {group.get('State')}")
    if not config.get("BytesScannedCutoffPerQuery"):
        problems.append(f"workgroup {expect.workgroup} has no bytes-scanned cutoff per query")
    if not config.get("EnforceWorkGroupConfiguration"):
        problems.append(f"workgroup {expect.workgroup} does not enforce its configuration "
                        "(a client can override the cutoff)")
    return problems


def _function_name(arn_or_name: str) -> str:
    if ":function:" not in arn_or_name:
        return arn_or_name
    return arn_or_name.split(":function:", 1)[1].split(":", 1)[0]


def check_rule(expect: DoctorSettings, clients: Clients, now: datetime, settings: Settings) -> list[str]:
    """The GuardDuty findings rule is enabled and targets the response function."""
    region = expect.trail_region
    events = clients("events", region)
    try:
        rule = events.describe_rule(Name=expect.rule)
        targets = events.list_targets_by_rule(Rule=expect.rule).get("Targets") or []
    except (ClientError, BotoCoreError) as exc:
        code = _aws_error(exc)
        return [f"rule {expect.rule} is missing" if code == "ResourceNotFoundException"
                else f"cannot read rule {expect.rule} ({code})"]
    problems = []
    if rule.get("State") != "ENABLED":
        problems.append(f"rule {expect.rule} is {rule.get('State')}")
    want = _function_name(expect.response_function)
    if not any(_function_name(t.get("Arn", "")) == want for t in targets):
        have = ", ".join(t.get("Arn", "?") for t in targets) or "nothing"
        problems.append(f"rule {expect.rule} targets {have}, not the response function {want}")
        return problems
    try:
        clients("lambda", region).get_function(FunctionName=expect.response_function)
    except (ClientError, BotoCoreError) as exc:
        problems.append(f"response function {want} cannot be read ({_aws_error(exc)})")
    return problems


def check_runner(expect: DoctorSettings, clients: Clients, now: datetime, settings: Settings) -> list[str]:
    """The runner's latest successful tick (the newest ``last_run`` in the state store) is recent."""
    s3 = clients("s3", None) if expect.state.startswith("s3://") else None
    store = open_state_store(expect.state, s3_client=s3)
    latest: datetime | None = None
    try:
        for detection_id in sorted(load_detections()):
            if not settings.detection_overrides(detection_id).get("enabled", True):
                continue
            state, _ = store.load(detection_id)
            if state.last_run and (latest is None or parse_iso(state.last_run) > latest):
                latest = parse_iso(state.last_run)
    except (ClientError, BotoCoreError) as exc:
        return [f"cannot read the state store {expect.state} ({_aws_error(exc)})"]
    if latest is None:
        return [f"no successful tick recorded in {expect.state}"]
    if now - latest > expect.max_tick_age:
        minutes = int((now - latest).total_seconds() // 60)
        return [f"last successful tick {iso_z(latest)} is {minutes} minutes "
                f"old (limit {int(expect.max_tick_age.total_seconds() // 60)})"]
    return []


def _plain(check: Callable[[DoctorSettings, Clients, datetime], list[str]]
           ) -> Callable[[DoctorSettings, Clients, datetime, Settings], list[str]]:
    return lambda expect, clients, now, settings: check(expect, clients, now)


Check = Callable[[DoctorSettings, Clients, datetime, Settings], list[str]]
CHECKS: dict[str, Check] = {
    "trail": _plain(check_trail),
    "guardduty": _plain(check_guardduty),
    "glue_tables": check_glue_tables,
    "workgroup": check_workgroup,
    "eventbridge_rule": check_rule,
    "runner_tick": check_runner,
}


def run_checks(settings: Settings, clients: Clients | None = None, now: datetime | None = None,
               only: Iterable[str] | None = None, environ_region: str | None = None) -> list[Problem]:
    """Every problem of the chosen checks (all by default), in check order; [] when all holds."""
    chosen = list(only) if only else list(CHECKS)
    unknown = [name for name in chosen if name not in CHECKS]
    if unknown:
        raise ConfigError(f"--check: {', '.join(unknown)} is not one of {', '.join(CHECKS)}")
    expect = doctor_settings(settings, environ_region)
    clients = clients or Clients()
    now = now or utcnow()
    return [Problem(name, message)
            for name in chosen for message in CHECKS[name](expect, clients, now, settings)]
