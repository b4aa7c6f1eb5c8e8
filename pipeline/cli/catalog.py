"""``trailguard catalog``: the Glue/Athena tables rendered from ``glue/*.yaml``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from pipeline.catalog.athena import CatalogSettings, catalog_settings
from pipeline.cli.common import ConfigOption, guarded, settings_for
from pipeline.cli.console import console, err_console, info, table
from pipeline.config import ConfigError, Settings

catalog_app = typer.Typer(no_args_is_help=True, help="Glue/Athena table definitions.")


@catalog_app.command("ddl")
@guarded
def catalog_ddl(
    table_name: Annotated[str | None, typer.Option("--table", help="Only this table.")] = None,
    config: ConfigOption = None,
) -> None:
    """Print the Athena CREATE TABLE statements (partition projection)."""
    from pipeline.catalog.athena import athena_ddl
    from pipeline.catalog.specs import load_specs

    settings = derived_lists(settings_for(config))
    specs = load_specs()
    if table_name and table_name not in specs:
        raise ConfigError(f"--table {table_name!r}: known tables are {', '.join(specs)}")
    for name, spec in specs.items():
        if table_name in (None, name):
            sys.stdout.write(athena_ddl(spec, settings) + ";\n\n")


def derived_lists(configured: Settings) -> CatalogSettings:
    """The catalog settings; with a local source, missing projection lists come from the folder.

    Says so on stderr, and says when LOCATION is the placeholder bucket (a local source has none).
    """
    import dataclasses

    from pipeline.source.layout import folder_layout

    settings = catalog_settings(configured)
    local = not configured.source.startswith("s3://")
    if local and Path(configured.source).is_dir() and not (settings.accounts and settings.regions):
        found = folder_layout(configured.source)
        derived = {}
        if not settings.accounts and found.accounts:
            derived["accounts"] = found.accounts
        if not settings.regions and found.regions:
            derived["regions"] = found.regions
        if derived:
            settings = dataclasses.replace(settings, **derived)
            if not settings.org_id and found.org_id:
                settings = dataclasses.replace(settings, org_id=found.org_id)
            for name, values in derived.items():
                info(f"note: no [catalog] {name} configured; listed from {configured.source}: "
                     f"{', '.join(values)} (set [catalog] {name} in trailguard.toml to fix them)")
    if local:
        info(f"note: LOCATION uses the placeholder {settings.source_uri}: the source is the local folder "
             f"{configured.source}; set source = \"s3://your-trail-bucket/prefix\" for DDL to run on Athena")
    return settings


@catalog_app.command("deploy")
@guarded
def catalog_deploy(config: ConfigOption = None) -> None:
    """Create or update the Glue database and tables with boto3."""
    import boto3

    from pipeline.catalog.glue import deploy_catalog
    from pipeline.catalog.specs import load_specs

    configured = settings_for(config)
    if not configured.source.startswith("s3://"):
        raise ConfigError(f'source {configured.source!r}: the Glue tables need source = "s3://bucket/prefix"')
    settings = catalog_settings(configured)
    actions = deploy_catalog(settings, load_specs(), boto3.client("glue"))
    console.print(table(f"Glue database {settings.database}", ["table", "action"], actions))
    report_drift(configured)  # warn now: projection only reads the accounts and regions it lists


def report_drift(settings: Settings) -> list[str]:
    """Print projection drift against Organizations, EC2 and the bucket; returns the warnings."""
    import boto3

    from pipeline.catalog.glue import discover_partitions, projection_drift, suggested_lists

    cat = catalog_settings(settings)
    found = discover_partitions(
        boto3.client("organizations"), boto3.client("ec2"), boto3.client("s3"), cat.source_uri, cat.org_id
    )
    warnings = projection_drift(cat, found)
    for line in warnings:
        err_console.print(f"[yellow]drift[/] {escape(line)}", highlight=False, soft_wrap=True)
    if warnings:
        lists = suggested_lists(cat, found)
        console.print(
            "Suggested [catalog] lists:\n"
            f"accounts = {json.dumps(lists['accounts'])}\nregions = {json.dumps(lists['regions'])}"
        )
    return warnings


@catalog_app.command("drift")
@guarded
def catalog_drift(config: ConfigOption = None) -> None:
    """Compare the projected accounts and regions with AWS Organizations, EC2 and the bucket.

    Exits 1 when an account or region would be left unscanned (or a configured one is gone).
    """
    settings = settings_for(config)
    if not settings.source.startswith("s3://"):
        raise ConfigError(f"source {settings.source!r}: drift is checked against an s3:// source")
    if report_drift(settings):
        raise typer.Exit(1)
    console.print("projection lists cover every account and region")
