"""``trailguard coverage``: the ATT&CK and Stratus coverage matrix, printed, written or checked.

``--write`` regenerates docs/coverage.md; ``--check`` exits 1 when the committed file is stale
(what CI runs), so the documentation can never drift from the detection headers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.common import fail, guarded
from pipeline.cli.console import console, info, table
from pipeline.cli.output import Format, FormatOption, emit
from pipeline.detections.coverage import DOC_PATH, STRATUS_WITHOUT_LOG, build, is_stale, write
from pipeline.detections.spec import load_detections


@guarded
def coverage(
    write_doc: Annotated[bool, typer.Option("--write", help="Write the matrix to the docs file.")] = False,
    check: Annotated[bool, typer.Option("--check", help="Exit 1 when the docs file is stale.")] = False,
    output: Annotated[Path, typer.Option(help="Docs file to write or check.")] = DOC_PATH,
    fmt: FormatOption = Format.table,
) -> None:
    """ATT&CK tactic/technique and Stratus technique -> detection ids, from the detection headers."""
    if write_doc and check:
        fail("--write and --check are alternatives: pick one", 2)
    matrix = build(load_detections().values())
    if check:
        if is_stale(matrix, output):
            fail(f"{output} is stale: run trailguard coverage --write", 1)
        console.print(f"{output} is up to date", markup=False, highlight=False)
        return
    if write_doc:
        path = write(matrix, output)
        console.print(f"wrote {path}", markup=False, highlight=False)
        return
    attack = [{"framework": "attack", "tactic": t, "technique": tech, "name": name, "detections": list(ids)}
              for t, tech, name, ids in matrix.tactic_rows()]
    stratus = [{"framework": "stratus", "technique": t, "logged": t not in STRATUS_WITHOUT_LOG,
                "detections": list(ids)} for t, ids in matrix.stratus.items()]
    if fmt is not Format.table:  # one stream of rows, told apart by "framework"
        emit(attack + stratus, fmt=fmt)
        return
    console.print(table("ATT&CK", ["tactic", "technique", "name", "detections"],
                        ((r["tactic"], r["technique"], r["name"], ", ".join(r["detections"]))
                         for r in attack)))
    console.print(table("Stratus Red Team", ["technique", "log", "detections"],
                        ((r["technique"], "yes" if r["logged"] else "no", ", ".join(r["detections"]) or "-")
                         for r in stratus)))
    info(f"{len(matrix.stratus_covered)} of {len(matrix.stratus)} Stratus techniques covered")
