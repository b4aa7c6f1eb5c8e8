"""GuardDuty and CloudTrail line items, per account and region: tiers never pool across accounts.

GuardDuty prices each data source per account, per region, per month, so each (account, region)
pair is priced on its own 30-day volume. Measured volumes come from the CloudTrail logs;
configured ones (``[cost.volumes]``) override them (e.g. S3 data events GuardDuty analyses even
when no trail logs them) or supply what no log here holds.
"""

from __future__ import annotations

from pipeline.config import ConfigError, Settings
from pipeline.cost.lines import Line, line
from pipeline.cost.prices import PriceBook
from pipeline.cost.volumes import CostInputs, configured_volumes, per_pair, volumes_for

FOUNDATIONAL = "foundational"
# GuardDuty protection plans, the price items they bill, and the volume each item is priced on.
FEATURES: dict[str, tuple[tuple[str, str], ...]] = {
    FOUNDATIONAL: (
        ("guardduty.management_events", "management_events"),
        ("guardduty.flow_dns_logs", "flow_dns_gb"),
    ),
    "s3_protection": (("guardduty.s3_data_events", "s3_data_events"),),
    "eks_protection": (("guardduty.eks_audit_logs", "eks_audit_events"),),
    "runtime_monitoring": (("guardduty.runtime_monitoring", "runtime_vcpus"),),
    "malware_ec2": (("guardduty.malware_ec2", "malware_ec2_gb"),),
    "malware_s3": (
        ("guardduty.malware_s3_gb", "malware_s3_gb"),
        ("guardduty.malware_s3_objects", "malware_s3_objects"),
    ),
    "rds_protection": (("guardduty.rds_protection", "rds_vcpus"),),
    "lambda_protection": (("guardduty.lambda_network_logs", "lambda_network_gb"),),
}
MEASURED = {"management_events": ("management",), "s3_data_events": ("s3_data",)}


def enabled_features(settings: Settings) -> list[str]:
    """The foundational plan plus ``[cost] features``; an unknown name is an error naming it."""
    chosen = settings["cost"].get("features") or []
    if isinstance(chosen, str):
        chosen = [f.strip() for f in chosen.split(",") if f.strip()]
    unknown = [f for f in chosen if f not in FEATURES]
    if unknown:
        raise ConfigError(
            f"cost.features: unknown {', '.join(map(repr, unknown))} (known: "
            f"{', '.join(k for k in FEATURES if k != FOUNDATIONAL)})"
        )
    return [FOUNDATIONAL, *[f for f in FEATURES if f in chosen and f != FOUNDATIONAL]]


def _count(settings: Settings, key: str, minimum: int) -> int:
    value = settings["cost"].get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"cost.{key}: {value!r} is not an integer of at least {minimum}")
    return value


def guardduty_lines(inputs: CostInputs, settings: Settings, prices: PriceBook) -> list[Line]:
    """GuardDuty's bill per account, region and data source for the enabled plans."""
    configured = configured_volumes(settings)
    measured = per_pair(inputs).set_index(["account_id", "region"])
    pairs = set(measured.index)
    pairs |= {tuple(scope.split("/", 1)) for scope in configured if scope.count("/") == 1}
    month, factor = inputs.period.label, inputs.projection
    out: list[Line] = []
    for account, region in sorted(pairs):
        volumes = volumes_for(configured, account, region)
        for feature in enabled_features(settings):
            for key, volume in FEATURES[feature]:
                price = prices[key]
                if volume in volumes:
                    if volumes[volume] > 0:
                        out.append(
                            line(price, month, account, region, "configured", volumes[volume], detail=feature)
                        )
                elif volume in MEASURED and (account, region) in measured.index:
                    seen = float(measured.loc[(account, region), list(MEASURED[volume])].sum())
                    if seen:
                        out.append(
                            line(
                                price,
                                month,
                                account,
                                region,
                                "measured",
                                seen * factor,
                                observed=seen,
                                detail=feature,
                            )
                        )
    return out


def cloudtrail_lines(inputs: CostInputs, settings: Settings, prices: PriceBook) -> list[Line]:
    """CloudTrail's own charges per account and region: data events, and management copies after the first."""
    copies, data_trails = _count(settings, "trail_copies", 1), _count(settings, "data_event_trails", 0)
    month, factor = inputs.period.label, inputs.projection
    out: list[Line] = []
    for row in per_pair(inputs).itertuples(index=False):
        data = float(row.s3_data + row.other_data + row.network_activity)
        if data and data_trails:
            out.append(
                line(
                    prices["cloudtrail.data_events"],
                    month,
                    row.account_id,
                    row.region,
                    "measured",
                    data * factor * data_trails,
                    observed=data * data_trails,
                    detail=f"{data_trails} trail(s)",
                )
            )
        if copies > 1 and row.management:
            extra = float(row.management) * (copies - 1)
            out.append(
                line(
                    prices["cloudtrail.management_copies"],
                    month,
                    row.account_id,
                    row.region,
                    "measured",
                    extra * factor,
                    observed=extra,
                    detail=f"{copies - 1} extra copies",
                )
            )
    return out


def unconfigured(settings: Settings) -> list[str]:
    """Volumes of enabled plans that nothing measures and nobody configured (priced as zero)."""
    configured = configured_volumes(settings)
    named = {name for values in configured.values() for name in values}
    return [
        volume
        for feature in enabled_features(settings)
        for _, volume in FEATURES[feature]
        if volume not in MEASURED and volume not in named
    ]
