"""``trailguard doctor``: is the AWS side the pipeline relies on in place, here and now?

Each check reads one part of the deployment (the trail, GuardDuty, the Glue tables, the Athena
workgroup, the EventBridge rule, the runner's last tick) and returns one line per problem, so a
person reads what is wrong, and where, without opening the console. Checks only read; none changes
anything. :mod:`pipeline.doctor.checks` holds them, :func:`run_checks` runs them in order.
"""

from __future__ import annotations

from pipeline.doctor.checks import CHECKS, Clients, DoctorSettings, Problem, doctor_settings, run_checks

__all__ = ["CHECKS", "Clients", "DoctorSettings", "Problem", "doctor_settings", "run_checks"]
