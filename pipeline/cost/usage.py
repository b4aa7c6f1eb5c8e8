"""GuardDuty's own 30-day usage cost figures (``GetUsageStatistics``), to show beside the estimate.

GuardDuty computes them per region for the detector's account (and, from the administrator
account, for every member); they cover the last 30 days whatever the period estimated, so they
are a check on the estimate's order of magnitude, not the same figure.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

# GetUsageStatistics' features, and the price item the estimate bills each under.
FEATURE_ITEMS = {
    "CLOUD_TRAIL": "guardduty.management_events",
    "S3_DATA_EVENTS": "guardduty.s3_data_events",
    "FLOW_LOGS": "guardduty.flow_dns_logs",
    "DNS_LOGS": "guardduty.flow_dns_logs",
    "EKS_AUDIT_LOGS": "guardduty.eks_audit_logs",
    "EKS_RUNTIME_MONITORING": "guardduty.runtime_monitoring",
    "EC2_RUNTIME_MONITORING": "guardduty.runtime_monitoring",
    "FARGATE_RUNTIME_MONITORING": "guardduty.runtime_monitoring",
    "EBS_MALWARE_PROTECTION": "guardduty.malware_ec2",
    "RDS_LOGIN_EVENTS": "guardduty.rds_protection",
    "LAMBDA_NETWORK_LOGS": "guardduty.lambda_network_logs",
}
COLUMNS = ["region", "account_id", "feature", "item", "usage_30d_usd"]


def usage_statistics(client: Any, account_ids: list[str] | None = None) -> pd.DataFrame:
    """Per account and feature, GuardDuty's estimated cost of the last 30 days in the client's region.

    One ``SUM_BY_FEATURES`` call per account (GuardDuty's breakdown by account and feature at
    once is not in the API); without ``account_ids``, one call for the caller's whole view,
    labelled ``all``. An account with no detector in the region gives an empty frame.
    """
    region = client.meta.region_name
    detectors = client.list_detectors().get("DetectorIds", [])
    if not detectors:
        return _typed(pd.DataFrame(columns=COLUMNS))
    rows = []
    for account in account_ids or [None]:
        criteria: dict[str, Any] = {"Features": list(FEATURE_ITEMS)}
        if account:
            criteria["AccountIds"] = [account]
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {
                "DetectorId": detectors[0],
                "UsageStatisticType": "SUM_BY_FEATURES",
                "UsageCriteria": criteria,
                "Unit": "USD",
            }
            if token:
                kwargs["NextToken"] = token
            answer = client.get_usage_statistics(**kwargs)
            for entry in answer.get("UsageStatistics", {}).get("SumByFeature", []):
                feature = entry.get("Feature", "")
                amount = float((entry.get("Total") or {}).get("Amount") or 0.0)
                rows.append((region, account or "all", feature, FEATURE_ITEMS.get(feature, ""), amount))
            token = answer.get("NextToken")
            if not token:
                break
    return _typed(pd.DataFrame(rows, columns=COLUMNS))


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.astype({"usage_30d_usd": "float64"})
    return frame.astype({c: "category" for c in ("region", "account_id", "feature", "item")})


def compare(lines: pd.DataFrame, usage: pd.DataFrame) -> pd.DataFrame:
    """Estimate and GuardDuty's figure side by side, per region and price item."""
    guard = lines[lines["service"] == "guardduty"]
    estimate = guard.groupby(["region", "item"], observed=True)["cost_usd"].sum().rename("estimate_usd")
    reported = usage.groupby(["region", "item"], observed=True)["usage_30d_usd"].sum()
    both = pd.concat([estimate, reported], axis=1).fillna(0.0).reset_index()
    return both.astype({"estimate_usd": "float64", "usage_30d_usd": "float64"})
