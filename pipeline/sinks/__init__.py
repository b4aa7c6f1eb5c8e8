"""Where findings go: JSON lines files, Slack, AWS Security Hub.

The scheduler uses only :func:`build_sinks`, the :class:`Sink` protocol, :class:`Delivery` /
:func:`make_delivery` and :class:`SinkError`; see :mod:`pipeline.sinks.base`.
"""

from pipeline.sinks.base import Delivery, Sink, SinkError, make_delivery
from pipeline.sinks.factory import build_sinks

__all__ = ["Delivery", "Sink", "SinkError", "build_sinks", "make_delivery"]
