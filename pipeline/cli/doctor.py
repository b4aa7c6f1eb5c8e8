"""``trailguard doctor``: one line per problem of the AWS side and exit 1, or exit 0 when all holds.

Only reads. What it expects comes from ``[doctor]`` in trailguard.toml (names default to what
deploy/terraform creates); see docs/doctor.md for each check and how to fix what it reports.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from pipeline.cli.common import ConfigOption, guarded, settings_for
from pipeline.cli.console import console, err_console


@guarded
def doctor(
    config: ConfigOption = None,
    check: Annotated[list[str] | None, typer.Option("--check", help="Run only this check (repeatable): "
                                                     "trail, guardduty, glue_tables, workgroup, "
                                                     "eventbridge_rule, runner_tick.")] = None,
) -> None:
    """Check the trail, GuardDuty, Glue tables, workgroup, EventBridge rule and the runner's last tick."""
    from pipeline.doctor import CHECKS, run_checks

    settings = settings_for(config)
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    problems = run_checks(settings, only=check, environ_region=region)
    for problem in problems:
        err_console.print(str(problem), markup=False, highlight=False, soft_wrap=True)
    if problems:
        raise typer.Exit(1)
    ran = check or list(CHECKS)
    console.print(f"ok: {len(ran)} check(s) hold ({', '.join(ran)})", markup=False, highlight=False)
