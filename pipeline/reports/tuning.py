"""Tuning a detection: how often it fires, on whom, and what a proposed suppression would remove.

The impact of a suppression is measured, not guessed: the detection runs twice over the same
window, with and without the proposed rule (the same SQL-side suppression a deployment would
configure), and the findings that disappear are returned.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

import pandas as pd

from pipeline.config import ConfigError, Settings
from pipeline.detections.run import run_detections
from pipeline.detections.spec import load_detections
from pipeline.detections.suppressions import FIELDS, parse_rule
from pipeline.engines.base import Engine
from pipeline.reports import trends


def hit_rates(findings: pd.DataFrame, days: float) -> pd.DataFrame:
    """Per detection: findings, per day, distinct principals, actors and accounts, share of all findings."""
    if findings.empty:
        return pd.DataFrame(
            columns=["detection_id", "findings", "per_day", "principals", "actors", "accounts", "share"]
        )
    grouped = findings.groupby(findings["detection_id"].astype(str))
    frame = pd.DataFrame(
        {
            "findings": grouped.size().astype("int64"),
            "principals": grouped["principal"].nunique().astype("int64"),
            "actors": trends.with_actor(findings).groupby(findings["detection_id"].astype(str))["actor"]
            .nunique().astype("int64"),
            "accounts": grouped["account_id"].nunique().astype("int64"),
        }
    )
    frame["per_day"] = frame["findings"] / days
    frame["share"] = frame["findings"] / frame["findings"].sum()
    frame = frame.sort_values("findings", ascending=False).rename_axis("detection_id").reset_index()
    return frame[["detection_id", "findings", "per_day", "principals", "actors", "accounts", "share"]]


def _findings_frame(findings: list[Any]) -> pd.DataFrame:
    rows = [f.to_dict() if hasattr(f, "to_dict") else dict(vars(f)) for f in findings]
    return pd.DataFrame(rows)


def suppression_impact(
    settings: Settings,
    engine: Engine,
    detection_id: str,
    rule: dict[str, Any],
    start: datetime,
    end: datetime,
) -> dict[str, pd.DataFrame]:
    """Run ``detection_id`` over ``[start, end)`` without and with ``rule`` (a ``[[suppressions]]``
    table: fields, reason, expires); ``removed`` holds the findings the rule would suppress, and
    ``removed_high`` those of them that are high or critical: a rule that hides one of those
    (a GuardDuty finding about root, say) must be said out loud before anyone adopts it."""
    detection = load_detections()[detection_id]
    proposed = {"detections": [detection_id], **rule}
    parsed = parse_rule(0, proposed)  # a malformed rule fails here, naming the field
    if all(parsed.columns(table) is None for table in detection.tables):
        usable = sorted({name for table in detection.tables for name in FIELDS.get(table, {})})
        raise ConfigError(
            f"suppression fields {', '.join(sorted(parsed.matches))} do not apply to {detection_id} "
            f"(it reads {', '.join(detection.tables)}; usable fields: {', '.join(usable)})"
        )
    raw = copy.deepcopy(settings.raw)
    raw["suppressions"] = [*raw.get("suppressions", []), proposed]
    with_rule = Settings(raw=raw, path=settings.path)
    before = run_detections(engine, [detection], start, end, settings).findings
    after = run_detections(engine, [detection], start, end, with_rule).findings
    kept = {f.finding_id for f in after}
    before_frame = _findings_frame(before)
    if before_frame.empty:
        return {"before": before_frame, "after": before_frame, "removed": before_frame,
                "removed_high": before_frame}
    removed = before_frame[~before_frame["finding_id"].isin(kept)].reset_index(drop=True)
    return {
        "before": before_frame,
        "after": _findings_frame(after),
        "removed": removed,
        "removed_high": removed[removed["severity"].isin(["high", "critical"])].reset_index(drop=True),
    }


HIGH = ("high", "critical")


def _finding_type(context: object) -> str | None:
    import json

    if isinstance(context, str):
        try:
            context = json.loads(context)
        except json.JSONDecodeError:
            return None
    value = context.get("finding_type") if isinstance(context, dict) else None
    return str(value) if value else None


def suggest_suppression(findings: pd.DataFrame, reason: str, expires: str) -> dict[str, Any]:
    """The narrowest ``[[suppressions]]`` rule (fields, ``reason``, ``expires``) for one detection's
    noisiest low and medium findings, chosen so that it hides no high or critical finding when such
    a rule exists: an account-wide rule would also hide, say, a GuardDuty finding about root.

    A caller (CloudTrail: an ARN principal) is suggested as ``principals``: the one with most
    findings below high among those with none at or above. GuardDuty findings name resources, not
    callers: the suggestion is an account *and* a finding type (``accounts`` + ``finding_types``),
    the pair with most findings below high among the pairs with none at or above. When every
    candidate also has high findings (a high-severity detection), the noisiest is suggested and
    :func:`suppression_impact` ``removed_high`` says what it would hide: say it before adopting."""
    if findings.empty:
        raise ValueError("no findings to suggest a suppression for")
    rows = findings.assign(high=findings["severity"].astype(str).isin(HIGH))
    principals = rows["principal"].astype(str)
    callers = rows[principals.str.startswith("arn:")]
    if not callers.empty:
        keys = [callers["principal"].astype(str)]
        fields = ["principals"]
        rows = callers
    else:
        context = rows["context"] if "context" in rows else pd.Series(None, index=rows.index)
        rows = rows.assign(finding_type=context.map(_finding_type)).dropna(subset=["finding_type"])
        if rows.empty:
            raise ValueError("no caller ARN and no GuardDuty finding type to narrow a rule on")
        keys = [rows["account_id"].astype(str), rows["finding_type"].astype(str)]
        fields = ["accounts", "finding_types"]
    grouped = rows.groupby(keys, observed=True)["high"].agg(["sum", "size"])
    grouped["low"] = grouped["size"] - grouped["sum"]
    safe = grouped[(grouped["sum"] == 0) & (grouped["low"] > 0)]
    pick = (safe if not safe.empty else grouped).sort_values(["low", "size"], ascending=False).index[0]
    values = pick if isinstance(pick, tuple) else (pick,)
    rule: dict[str, Any] = {f: [str(v)] for f, v in zip(fields, values, strict=True)}
    return {**rule, "reason": reason, "expires": expires}
