"""Configuration: one TOML file, every key overridable from the environment.

``trailguard.toml`` in the working folder (or ``--config``); ``TRAILGUARD_<SECTION>_<KEY>``
overrides a key (``TRAILGUARD_ENGINE=athena``, ``TRAILGUARD_ATHENA_WORKGROUP=sec``,
``TRAILGUARD_DETECTIONS_ACCESS_DENIED_BURST_THRESHOLD=30``). With no file at all the defaults run
the embedded engine over ``./demo``. Thresholds, schedules, sinks and suppressions live here,
never in code.
"""

from __future__ import annotations

import copy
import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.paths import known_detection_ids

ENV_PREFIX = "TRAILGUARD_"
DEFAULT_FILE = "trailguard.toml"

DEFAULTS: dict[str, Any] = {
    "engine": "duckdb",
    "source": "./demo",
    "data_dir": "./.trailguard",
    "org_id": "",
    "catalog": {
        "database": "trailguard",
        "accounts": [],
        "regions": [],
        "projection_start": "2020-01-01",
        "lake_uri": "",
    },
    "athena": {
        "workgroup": "primary",
        "output_location": "",
        "region": "",
        "use_parquet": False,
        "max_scan": "",
        "poll_interval": 1.0,
    },
    "duckdb": {"threads": 0, "memory_limit": ""},
    "detections": {},
    "suppressions": [],
    # Scheduled runs (`trailguard run` / `schedule`): where state and findings live, and the clock.
    "state": "",  # default <data_dir>/state; or s3://bucket/prefix for serverless runners
    "findings_store": "",  # default <data_dir>; or s3://bucket/prefix
    "schedule": {
        "delivery_lag_minutes": 15,
        "overlap_minutes": 60,
        "max_catchup_windows": 96,
        "first_run_lookback_minutes": 60,
        "poll_seconds": 60,
        # Incremental ticks (docs/incremental-athena.md): each tick ingests only the new deliveries
        # into the hot tier ([catalog] lake_uri on Athena) and reads them in one query.
        "hot_tier": False,
    },
    "sinks": [],
    # Log file validation in scheduled runs (`trailguard run`): log_file_tampered findings.
    "integrity": {"validate": True, "public_keys": "", "schedule": "1h"},
    # Automated response (pipeline.response): dry-run unless told otherwise.
    "response": {},
    # Cost estimation (`trailguard cost`, pipeline.cost): what the logs cannot measure.
    "cost": {
        "prices": "",  # a price file; default the newest in pipeline/cost/prices/
        "features": ["s3_protection", "eks_protection"],  # GuardDuty plans beyond the foundational one
        "trail_copies": 1,  # trails delivering management events (the first copy is free)
        "data_event_trails": 1,
        "bucket_region": "",  # the log bucket's region; default [athena] region, then us-east-1
        "retention_days": 2555,  # log expiry (objects go to IA, then Glacier, at the two days below)
        "transition_ia_days": 30,
        "transition_glacier_days": 365,
        "kms_keys": 1,
        "kms_requests_per_object": 0.01,  # S3 Bucket Key on (as deployed); 1.0 without one
        "usage": False,  # also read GuardDuty GetUsageStatistics (needs credentials)
        "volumes": {},  # {"default" | "ACCOUNT" | "ACCOUNT/REGION": {flow_dns_gb = .., ...}} per 30 days
    },
}


class ConfigError(ValueError):
    """A configuration file or value that makes no sense; the message names it."""


@dataclass
class Settings:
    """The effective configuration: defaults, then the file, then the environment."""

    raw: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(DEFAULTS))
    path: Path | None = None

    def __getitem__(self, key: str) -> Any:
        return self.raw[key]

    @property
    def engine(self) -> str:
        return str(self.raw["engine"])

    @property
    def source(self) -> str:
        return str(self.raw["source"])

    @property
    def data_dir(self) -> Path:
        return Path(self.raw["data_dir"])

    def detection_overrides(self, detection_id: str) -> dict[str, Any]:
        """Per-detection settings: ``enabled``, parameter overrides (thresholds, windows)."""
        return dict(self.raw["detections"].get(detection_id, {}))

    def with_overrides(self, **values: Any) -> Settings:
        """A copy with top-level keys replaced (CLI options win over file and environment)."""
        raw = copy.deepcopy(self.raw)
        raw.update({k: v for k, v in values.items() if v is not None})
        return Settings(raw=raw, path=self.path)


def _merge(base: dict[str, Any], update: dict[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def _parse_env_value(text: str) -> Any:
    """Environment values are TOML/JSON-ish: numbers, booleans and lists parse; the rest is a string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _apply_env(raw: dict[str, Any], environ: dict[str, str]) -> None:
    for name, text in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or name == ENV_PREFIX + "CONFIG":
            continue
        parts = name[len(ENV_PREFIX) :].lower()
        if parts in raw and not isinstance(raw[parts], dict):
            raw[parts] = _parse_env_value(text)
            continue
        section, _, rest = parts.partition("_")
        if section == "detections":
            # TRAILGUARD_DETECTIONS_<ID>_<PARAM>: the id itself contains underscores, so match known ids.
            _apply_detection_env(raw, rest, text)
        elif section in raw and isinstance(raw[section], dict) and rest:
            value = _parse_env_value(text)
            if isinstance(raw[section].get(rest), list) and isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            raw[section][rest] = value


def _apply_detection_env(raw: dict[str, Any], rest: str, text: str) -> None:
    for detection_id in sorted(known_detection_ids(), key=len, reverse=True):
        if rest.startswith(detection_id + "_"):
            param = rest[len(detection_id) + 1 :]
            raw["detections"].setdefault(detection_id, {})[param] = _parse_env_value(text)
            return
    raise ConfigError(f"environment: TRAILGUARD_DETECTIONS_{rest.upper()} names no known detection")


def load_settings(path: str | Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Load ``path`` (or ``./trailguard.toml`` if present, or ``$TRAILGUARD_CONFIG``) plus the environment."""
    environ = dict(os.environ if environ is None else environ)
    raw = copy.deepcopy(DEFAULTS)
    explicit = path or environ.get(ENV_PREFIX + "CONFIG")
    chosen = Path(explicit) if explicit else Path(DEFAULT_FILE)
    if explicit and not chosen.is_file():
        raise ConfigError(f"{chosen}: configuration file not found")
    used: Path | None = None
    if chosen.is_file():
        try:
            loaded = tomllib.loads(chosen.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{chosen}: not valid TOML ({exc})") from exc
        unknown = sorted(set(loaded) - set(DEFAULTS))
        if unknown:
            raise ConfigError(f"{chosen}: unknown key(s) {', '.join(unknown)}")
        _merge(raw, loaded)
        used = chosen
    _apply_env(raw, environ)
    if raw["engine"] not in ("duckdb", "athena"):
        raise ConfigError(f"engine: {raw['engine']!r} is not one of duckdb, athena")
    return Settings(raw=raw, path=used)
