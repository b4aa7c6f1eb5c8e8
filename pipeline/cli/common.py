"""What every CLI command shares: the config option, one-line errors, time parsing."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from botocore.exceptions import BotoCoreError, ClientError
from rich.markup import escape

from pipeline.cli.console import err_console
from pipeline.config import ConfigError, Settings, load_settings
from pipeline.errors import TrailguardError, UsageError
from pipeline.times import parse_relative, utcnow
from pipeline.times import parse_when as parse_time

ConfigOption = Annotated[Path | None, typer.Option("--config", help="trailguard.toml to use.")]


def fail(message: str, code: int) -> None:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def guarded(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn our errors into one line and an exit code instead of a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except UsageError as exc:
            fail(str(exc), 2)
        except (TrailguardError, BotoCoreError, ClientError) as exc:
            fail(str(exc), 1)
        except BrokenPipeError:  # `trailguard findings | head`: the reader had enough
            with contextlib.suppress(OSError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(0) from None
        except OSError as exc:  # a file the command had to read or write: name it, no traceback
            name = f"{exc.filename}: " if exc.filename else ""
            fail(f"{name}{exc.strerror or exc}", 1)
        except KeyboardInterrupt:
            fail("interrupted", 130)

    return wrapper


def parse_when(text: str, option: str, now: datetime | None = None) -> datetime:
    """ISO 8601 date or time (without a zone: UTC), ``now``, or a duration ago (``24h``, ``7d``)."""
    try:
        return parse_time(text, now)
    except ValueError as exc:
        raise ConfigError(f"{option} {exc}") from None


def window(since: str | None, until: str | None, last: str | None,
           default: str = "24h") -> tuple[datetime, datetime]:
    """``[since, until)`` or the ``last`` duration up to now; by default the last ``default``."""
    now = utcnow()
    if last and (since or until):
        raise ConfigError("--last is instead of --since/--until: give one or the other")
    if last:
        try:
            return now - parse_relative(last), now
        except ValueError as exc:
            raise ConfigError(f"--last {exc}") from None
    begin = parse_when(since or default, "--since", now)
    finish = parse_when(until, "--until", now) if until else now
    if begin >= finish:
        raise ConfigError(f"--since {since or default} is not before --until {until or 'now'}")
    return begin, finish


def settings_for(config: Path | None, **overrides: Any) -> Settings:
    """The validated configuration (the whole file: a mistake anywhere exits 2), with CLI overrides."""
    from pipeline.cli.options import aws_region
    from pipeline.workflow import check_configuration

    settings = check_configuration(load_settings(config)).with_overrides(**overrides)
    if aws_region():
        settings.raw["athena"]["region"] = aws_region()
    return settings


_ACCOUNT_DIR = re.compile(r"(\d{12}|o-[a-z0-9]{10,32})")
_SERVICES = ("CloudTrail", "GuardDuty")


def check_source(source: str) -> None:
    """Refuse a source that cannot hold logs, naming what is wrong, instead of reporting 0 files.

    A local source is the folder the bucket was copied into: it holds ``AWSLogs/``, and below it
    account (or ``o-*`` organization) folders with ``CloudTrail/`` or ``GuardDuty/``. The common
    slips: a typo (no such folder), an empty folder, or ``AWSLogs`` itself (one level too deep)."""
    if source.startswith("s3://"):
        from pipeline.source.s3sync import parse_s3_uri

        try:
            parse_s3_uri(source)
        except ValueError as exc:
            raise ConfigError(f"--source {source}: {exc}") from None
        return
    root = Path(source)
    if not root.is_dir():
        raise ConfigError(f"--source {source}: no such folder")
    logs = root / "AWSLogs"
    if not logs.is_dir():
        children = [p.name for p in root.iterdir()]
        if root.name == "AWSLogs" or any(_ACCOUNT_DIR.fullmatch(name) for name in children):
            raise ConfigError(f"--source {source}: this is the AWSLogs folder itself (one level too deep); "
                              f"pass the folder that holds AWSLogs/: --source {root.parent}")
        if not children:
            raise ConfigError(f"--source {source}: the folder is empty (no AWSLogs/ folder, no logs)")
        raise ConfigError(f"--source {source}: no AWSLogs/ folder in it; pass the folder the bucket's "
                          "AWSLogs/ was copied into")
    accounts = []
    for child in (c for c in logs.iterdir() if c.is_dir()):
        organization = child.name.startswith("o-")
        accounts.extend([g for g in child.iterdir() if g.is_dir()] if organization else [child])
    if not any((account / service).is_dir() for account in accounts for service in _SERVICES):
        raise ConfigError(f"--source {source}: no CloudTrail/ or GuardDuty/ folder under {logs} "
                          "(AWSLogs/[o-ORG/]ACCOUNT/CloudTrail/REGION/...)")


def check_writable(location: str | Path | None, what: str, *, folder: bool = False, note: str = "") -> None:
    """Refuse, in one line (exit 2), a place a command will write to before it does any work: a
    report built for minutes, a detect run, or a tick that cannot save its state or findings must
    not start (a tick that cannot save must not advance). The one check for every command.

    ``folder``: ``location`` is a folder (created if missing), else a file (its folder created).
    ``None``, ``-`` (stdout) and ``s3://`` URIs are not checked here. ``note`` ends the message."""
    if location is None or str(location) == "-" or str(location).startswith("s3://"):
        return
    path = Path(location)
    if folder and path.exists() and not path.is_dir():
        raise ConfigError(f"{what} {location}: is a file; give a folder{note}")
    if not folder and path.is_dir():
        raise ConfigError(f"{what} {location}: is a folder; give a file name{note}")
    target = path if folder else path.parent
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{what} {location}: cannot create the folder ({exc.strerror or exc})"
                          f"{note}") from None
    try:  # a probe, not os.access: root passes os.access, and ACLs or read-only mounts fool it
        probe = target / f".trailguard-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
        if path.is_file() and not os.access(path, os.W_OK):
            raise PermissionError(f"{path} is read-only")
    except OSError as exc:
        raise ConfigError(f"{what} {location}: not writable ({exc.strerror or exc}){note}") from None
