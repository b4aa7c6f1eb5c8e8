"""What every CLI command shares: the config option, one-line errors, time parsing."""

from __future__ import annotations

import functools
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
from pipeline.times import parse_iso

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
        except KeyboardInterrupt:
            fail("interrupted", 130)

    return wrapper


def parse_when(text: str, option: str) -> datetime:
    """ISO 8601 date or time; without a zone it is UTC."""
    try:
        return parse_iso(text)
    except ValueError:
        raise ConfigError(f"{option} {text!r} is not an ISO 8601 time (e.g. 2026-11-01T00:00:00Z)") from None


def settings_for(config: Path | None, **overrides: Any) -> Settings:
    return load_settings(config).with_overrides(**overrides)
