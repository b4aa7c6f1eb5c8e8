"""The options every command takes, as the aws cli has them: ``--quiet``, ``--verbose``,
``--profile``, ``--region`` (and ``--version``, ``-h``).

They are the root's options, but like the aws cli they may be written anywhere on the line
(``trailguard findings --profile sec``): :class:`GlobalOptionsGroup` moves them in front of the
command before click parses it. ``--profile``/``--region`` set the boto3 default session and the
``AWS_PROFILE``/``AWS_REGION`` variables (PyAthena builds its own session from them), and
``--region`` also replaces ``[athena] region`` for the command.
"""

from __future__ import annotations

import logging
import os
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import typer
from typer.core import TyperGroup

from pipeline.cli.console import NORMAL, QUIET, VERBOSE, set_verbosity
from pipeline.cli.metavars import plain_metavars

FLAGS = {"--quiet", "-q", "--verbose", "-v", "-vv"}
VALUED = {"--profile", "--region"}
_aws: dict[str, str] = {}


def hoist(args: list[str]) -> list[str]:
    """Global options (anywhere before ``--``) moved to the front, in their order."""
    front: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            rest += args[index:]
            break
        name = arg.split("=", 1)[0]
        if arg in FLAGS or name in VALUED and "=" in arg:
            front.append(arg)
        elif arg in VALUED and index + 1 < len(args):
            front += [arg, args[index + 1]]
            index += 1
        else:
            rest.append(arg)
        index += 1
    return front + rest


class GlobalOptionsGroup(TyperGroup):
    """The root group: global options are accepted after the command too; every value in every
    help screen is named plainly (:mod:`pipeline.cli.metavars`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        plain_metavars(self)

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist(list(args)))


def package_version() -> str:
    try:
        return version("trailguard")
    except PackageNotFoundError:  # pragma: no cover - running from a checkout without install
        return "unknown"


def show_version(value: bool) -> None:
    if value:
        typer.echo(f"trailguard {package_version()}")
        raise typer.Exit()


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is now (a test runner swaps it), never a closed stream."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(level: int) -> None:
    """Library warnings on stderr; the ingest's per-file skips only with -v (the CLI prints them)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_trailguard", False):
            root.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler._trailguard = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel({QUIET: logging.ERROR, NORMAL: logging.WARNING}.get(level, logging.DEBUG))
    logging.getLogger("pipeline.lake.ingest").setLevel(logging.ERROR if level < VERBOSE else logging.NOTSET)
    for noisy in ("botocore", "boto3", "urllib3", "s3transfer", "matplotlib", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING if level < VERBOSE + 1 else logging.DEBUG)


def set_aws(profile: str | None, region: str | None) -> None:
    """Point boto3 (and PyAthena) at a named profile and region, like ``aws --profile --region``."""
    _aws.clear()
    if not profile and not region:
        return
    import boto3
    from botocore.exceptions import ProfileNotFound

    try:  # the profile is checked before anything changes
        boto3.setup_default_session(profile_name=profile, region_name=region)
    except ProfileNotFound:
        raise typer.BadParameter(
            f"no profile {profile!r} in the AWS config files", param_hint="'--profile'"
        ) from None
    if profile:
        os.environ["AWS_PROFILE"] = profile
        _aws["profile"] = profile
    if region:
        os.environ["AWS_REGION"] = os.environ["AWS_DEFAULT_REGION"] = region
        _aws["region"] = region


def aws_region() -> str | None:
    """The ``--region`` given on the command line, if any (it wins over ``[athena] region``)."""
    return _aws.get("region")


def root_options(
    version_flag: bool,
    quiet: bool,
    verbose: int,
    profile: str | None,
    region: str | None,
) -> None:
    del version_flag  # handled eagerly by show_version
    if quiet and verbose:
        raise typer.BadParameter("--quiet and --verbose are alternatives: pick one", param_hint="'--quiet'")
    level = QUIET if quiet else (VERBOSE + verbose - 1 if verbose else NORMAL)
    set_verbosity(min(level, VERBOSE))
    configure_logging(level)
    set_aws(profile, region)


ROOT_HELP: dict[str, Any] = {
    "version": "Print the version and exit.",
    "quiet": "Only data and errors: no progress, no summaries, no rows of zeros.",
    "verbose": "More detail: timings, query ids, each skipped file (-vv: AWS debug logs).",
    "profile": "AWS named profile for this command (like aws --profile).",
    "region": "AWS region for this command (like aws --region); wins over [athena] region.",
}
