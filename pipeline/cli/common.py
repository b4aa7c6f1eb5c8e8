"""What every CLI command shares: the config option, one-line errors, time parsing."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from botocore.exceptions import BotoCoreError, ClientError
from rich.markup import escape

from pipeline.catalog.specs import CatalogError
from pipeline.cli.console import err_console
from pipeline.config import ConfigError, Settings, load_settings
from pipeline.detections.spec import DetectionError
from pipeline.engines.base import EngineError
from pipeline.engines.templating import TemplateError
from pipeline.times import parse_relative, utcnow
from pipeline.times import parse_when as parse_time

ConfigOption = Annotated[Path | None, typer.Option("--config", help="trailguard.toml to use.")]
USAGE_ERRORS = (ConfigError, DetectionError, TemplateError, CatalogError)


def fail(message: str, code: int) -> None:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def guarded(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn our errors into one line and an exit code instead of a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except USAGE_ERRORS as exc:
            fail(str(exc), 2)
        except (EngineError, BotoCoreError, ClientError) as exc:
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
