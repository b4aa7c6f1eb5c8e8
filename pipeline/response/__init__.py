"""Automated response to GuardDuty findings and high-severity trailguard detections.

Lambda handler: ``pipeline.response.handler.handler``. Dry-run by default; see
:mod:`pipeline.response.config` for the ``[response]`` keys and :mod:`pipeline.response.handler`
for the flow. The ``handler`` function is deliberately not re-exported here: the name would
shadow the ``handler`` submodule as an attribute of this package.
"""

from __future__ import annotations

from pipeline.response.config import ResponseConfig, response_config
from pipeline.response.handler import respond

__all__ = ["ResponseConfig", "respond", "response_config"]
