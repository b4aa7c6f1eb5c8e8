"""What a sink is: the one interface the scheduler calls, and what one delivery carries.

A sink receives batches of :class:`Delivery` and either takes all of them or raises
:class:`SinkError`; the scheduler advances its state only after every sink succeeded, so a failed
or killed run repeats the same deliveries. ``delivery_id`` is what makes that repeat harmless: it
depends only on the finding and the records behind it, so a sink that remembers (or upserts by)
ids can drop the repeat, and says so with ``idempotent = True``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from pipeline.errors import RunError
from pipeline.findings.model import Finding
from pipeline.findings.severity import severity_rank


class SinkError(RunError):
    """Delivery failed after the sink's own retries; the message names the sink, never a secret.

    ``delivered`` lists the delivery ids that did reach a non-idempotent sink before the failure,
    so a caller that wants to can avoid sending those twice.
    """

    def __init__(self, message: str, delivered: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.delivered: tuple[str, ...] = tuple(delivered)


@dataclass(frozen=True)
class Delivery:
    """One finding to deliver; an update re-sends the same ``finding_id`` with more records."""

    finding: Finding
    delivery_id: str
    is_update: bool = False


def delivery_id(finding: Finding) -> str:
    """``finding_id`` plus a hash of its record ids: same content, same id, whatever the order."""
    records = "\n".join(sorted({str(e) for e in finding.event_ids}))
    return f"{finding.finding_id}-{hashlib.sha256(records.encode()).hexdigest()[:16]}"


def make_delivery(finding: Finding, is_update: bool = False) -> Delivery:
    return Delivery(finding=finding, delivery_id=delivery_id(finding), is_update=is_update)


@runtime_checkable
class Sink(Protocol):
    """Where findings go. ``deliver`` takes all of the batch or raises :class:`SinkError`."""

    name: str
    min_severity: str
    idempotent: bool

    def accepts(self, finding: Finding) -> bool: ...

    def deliver(self, deliveries: list[Delivery]) -> None: ...




class BaseSink:
    """Severity filtering and a repr that shows only harmless attributes (never a secret)."""

    name: str = "sink"
    min_severity: str = "low"
    idempotent: bool = False
    samples: bool = False  # GuardDuty sample findings are test data: delivered only when asked for

    def accepts(self, finding: Finding) -> bool:
        if getattr(finding, "is_sample", False) and not self.samples:
            return False
        return severity_rank(finding.severity) >= severity_rank(self.min_severity)

    def deliver(self, deliveries: list[Delivery]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, min_severity={self.min_severity!r})"
