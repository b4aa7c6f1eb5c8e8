"""``trailguard detections``: the detection library, and one detection in full (``show ID``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import typer

from pipeline.cli.common import ConfigOption, guarded, settings_for
from pipeline.cli.console import console
from pipeline.cli.output import STDOUT, Format, FormatOption, OutputPathOption, emit
from pipeline.config import Settings
from pipeline.detections.spec import Detection, load_detections, select
from pipeline.times import utcnow

detections_app = typer.Typer(
    invoke_without_command=True,
    help="The detection library: list it (no subcommand) or show one detection.",
)


def rendered_sql(settings: Settings, detection: Detection, start: datetime, end: datetime) -> str:
    """The detection's SQL as the configured engine would run it over ``[start, end)``."""
    from pipeline.detections.run import render_detection
    from pipeline.workflow import open_engine

    engine = open_engine(settings)
    try:
        return render_detection(detection, engine, start, end, settings)[0]
    finally:
        engine.close()


def _row(detection: Detection, settings: Settings) -> dict[str, Any]:
    overrides = settings.detection_overrides(detection.id)
    return {
        "id": detection.id,
        "severity": detection.severity,
        "enabled": bool(overrides.get("enabled", True)),
        "attack": list(detection.attack),
        "schedule": detection.schedule,
        "tables": list(detection.tables),
        "title": detection.title,
    }


@detections_app.callback()
@guarded
def list_detections(
    ctx: typer.Context,
    fmt: FormatOption = Format.table,
    output: OutputPathOption = STDOUT,
    config: ConfigOption = None,
) -> None:
    """List the detection library (enabled as configured)."""
    if ctx.invoked_subcommand is not None:
        return
    settings = settings_for(config)
    rows = [_row(d, settings) for d in load_detections().values()]
    emit(rows, fmt=fmt, output=output, columns=["id", "severity", "enabled", "attack", "schedule", "title"],
         title="Detections")


@detections_app.command("show")
@guarded
def show(
    detection_id: Annotated[str, typer.Argument(metavar="ID", help="A detection id.")],
    fmt: FormatOption = Format.table,
    config: ConfigOption = None,
) -> None:
    """One detection: metadata, parameters as configured, rendered SQL (last hour), examples."""
    from pipeline.detections.examples import load_cases

    settings = settings_for(config)
    detection = select(load_detections(), [detection_id])[0]
    params = detection.params(settings.detection_overrides(detection.id))
    end = utcnow().replace(minute=0, second=0, microsecond=0)
    sql = rendered_sql(settings, detection, end - timedelta(hours=1), end)
    cases = load_cases(detection.id)
    row = {**_row(detection, settings), "description": detection.description, "runbook": detection.runbook,
           "dedup_key": list(detection.dedup_key), "stratus": list(detection.stratus),
           "parameters": {name: {"default": detection.parameters[name], "configured": value}
                          for name, value in params.items()},
           "examples": [str(c.get("name", c.get("case", ""))) for c in cases], "query": sql,
           "file": str(detection.path)}
    if fmt is not Format.table:
        emit([row], fmt=fmt)
        return
    fields = [(k, row[k]) for k in ("id", "title", "severity", "enabled", "attack", "stratus", "schedule",
                                     "tables", "dedup_key", "file")]
    emit([{"field": k, "value": v} for k, v in fields], columns=["field", "value"], title=detection.id)
    if params:
        emit([{"parameter": name, "default": detection.parameters[name], "configured": value}
              for name, value in params.items()], columns=["parameter", "default", "configured"],
             title="Parameters ([detections." + detection.id + "] in trailguard.toml)")
    console.print(f"\nDescription:\n{detection.description}\n\nRunbook:\n{detection.runbook}",
                  markup=False, highlight=False)
    console.print(f"\nExamples (tests/detections/{detection.id}.yaml): {len(cases)} case(s)"
                  + (": " + ", ".join(row["examples"]) if cases else ""), markup=False, highlight=False)
    console.print(f"\nQuery for {end - timedelta(hours=1):%Y-%m-%dT%H:%M}Z .. {end:%Y-%m-%dT%H:%M}Z:\n{sql}",
                  markup=False, highlight=False)
