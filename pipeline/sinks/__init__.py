"""Where findings go: JSON lines files, Slack, AWS Security Hub, Jira, PagerDuty.

The scheduler uses only :func:`build_sinks`, the :class:`Sink` protocol, :class:`Delivery` /
:func:`make_delivery` and :class:`SinkError`; see :mod:`pipeline.sinks.base`. Sinks that can close
an incident (Jira, PagerDuty) also have ``resolve(finding_ids, reason)``; :func:`resolve_findings`
calls it on every configured sink that has one.
"""

from pipeline.sinks.base import Delivery, Sink, SinkError, make_delivery
from pipeline.sinks.factory import build_sinks, resolve_findings

__all__ = ["Delivery", "Sink", "SinkError", "build_sinks", "make_delivery", "resolve_findings"]
