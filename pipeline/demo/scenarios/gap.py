"""A delivery gap: one account and region stops delivering CloudTrail records for four hours.

The production account's eu-west-1 logs steadily (a metrics exporter calls PutMetricData every ten
minutes, on top of the background), then nothing arrives from it for four hours while the rest
of the organization keeps logging, then the exporter's calls resume. ``log_delivery_gap`` must
report the exporter's last call before the silence; the other exporter calls are a near miss.

How the silence is made without breaking the demo's exact record count: the background does not
know about the gap, so records it places in that account and region during the silence are
*re-homed* to the same account's home region (``Gap.place``) rather than dropped. Per-principal
and per-address rhythms are untouched (no burst can appear or disappear), only the region moves.
CloudTrail still writes a digest for every hour of the silence, with no log files in it, so
``validate-logs`` stays valid over the gap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.demo.identities import HOME_REGION
from pipeline.demo.manifest import Label
from pipeline.demo.scenarios.base import Book

DETECTION = "log_delivery_gap"
REGION = "eu-west-1"
SILENCE = 4 * 3600
BASELINE = 6 * 3600 + 1800  # steady before the silence: more than the detection's 6-hour baseline
EVERY = 600


@dataclass
class Gap:
    """The silenced account/region and time span, and the scenario's own records (never moved)."""

    account: str
    region: str
    start: int  # the last record before the silence (inclusive: it stays)
    end: int  # the first record after it
    own: set[str] = field(default_factory=set)
    moved: int = 0

    def place(self, ts: int, rec: dict[str, Any]) -> dict[str, Any]:
        """The record as delivered: re-homed when it falls into the silence, else unchanged."""
        if (
            self.start <= ts < self.end
            and rec.get("awsRegion") == self.region
            and rec.get("recipientAccountId") == self.account
            and rec.get("eventID") not in self.own
        ):
            rec["awsRegion"] = HOME_REGION
            self.moved += 1
        return rec


def delivery_gap(b: Book) -> Gap:
    """Emit the exporter's calls around the silence, label them, and return the gap to apply."""
    account = b.org.prod.id
    start = b.at(1, 14)
    end = start + SILENCE
    sess = b.role(account, "metrics-exporter", "metrics-exporter", start - BASELINE, "10.20.3.14",
                  "aws-sdk-go-v2/1.24.0 os/linux lang/go#1.21.5 md/GOOS#linux md/GOARCH#amd64")
    namespace = {"namespace": "Orders/Checkout"}

    def call(ts: int) -> str:
        return b.call(sess, ts, "monitoring.amazonaws.com", "PutMetricData", account, REGION, namespace)

    before = [call(ts) for ts in range(start - BASELINE, start + 1, EVERY)]
    after = [call(ts) for ts in range(end, end + 3600, EVERY)]
    gap = Gap(account, REGION, start, end, own=set(before + after))
    b.labels.append(
        Label(
            "delivery_gap",
            DETECTION,
            [before[-1]],
            f"{account}/{REGION} logged every ten minutes, then delivered nothing for four hours while "
            "the organization kept logging: the last record before the silence",
            "cloudtrail",
            "high",
        )
    )
    b.labels.append(
        Label(
            "delivery_gap",
            None,
            before[:-1] + after,
            "the exporter's steady calls around the silence: ordinary records, reported by nothing",
        )
    )
    return gap
