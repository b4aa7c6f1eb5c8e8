"""Configuration: one TOML file, every key overridable from the environment.

``trailguard.toml`` in the working folder (or ``--config``); ``TRAILGUARD_<SECTION>_<KEY>``
overrides a key (``TRAILGUARD_ENGINE=athena``, ``TRAILGUARD_ATHENA_WORKGROUP=sec``,
``TRAILGUARD_DETECTIONS_ACCESS_DENIED_BURST_THRESHOLD=30``). With no file at all the defaults run
the embedded engine over ``./demo``. Thresholds, schedules, sinks and suppressions live here,
never in code.
"""

from __future__ import annotations

import copy
import difflib
import json
import os
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pipeline.errors import UsageError
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
    # Per raw file caps (decompression bombs): max_file_bytes, max_records_per_file; a file past
    # either is skipped with a warning. Defaults live in pipeline.source.limits.Limits.
    "ingest": {},
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
        "poll_seconds": 60.0,  # a float: tests poll every 0.2 s
        # Incremental ticks (docs/incremental-athena.md): each tick ingests only the new deliveries
        # into the hot tier and detects in the runner. "auto": on for Athena when [catalog] lake_uri
        # is set and DuckDB is installed; true or false to decide.
        "hot_tier": "auto",
    },
    "sinks": [],
    # Log file validation in scheduled runs (`trailguard run`): log_file_tampered findings.
    "integrity": {"validate": True, "public_keys": "", "schedule": "1h"},
    # Incidents (`trailguard incidents`, pipeline.incidents): correlation, score and routing.
    "incidents": {
        "rules": "",  # folder of correlation rules; default rules/incidents/
        "route": "finding",  # finding: sinks get each finding | incident: Jira/PagerDuty/Slack get incidents
        "lookback": "7d",  # how far back routing and `incidents` (without --since) correlate
        "paging_severity": "high",  # incidents at or above page (PagerDuty), whatever the sink's min_severity
        "first_seen_days": 30,  # an actor with no finding this long before the incident is "first seen"
        # A finding whose detection reported the same actor on this many earlier days (within
        # first_seen_days) is routine: it correlates only with routine findings. 0: off.
        "routine_days": 2,
        # Globs over the account ids, principals and ARNs a finding names (add production accounts).
        "sensitive": ["arn:aws*:iam::aws:policy/AdministratorAccess", "arn:aws*:cloudtrail:*:trail/*",
                      "arn:aws*:iam::*:root", "arn:aws*:secretsmanager:*", "arn:aws*:kms:*",
                      "arn:aws*:guardduty:*"],
        "score_low": 10, "score_medium": 20, "score_high": 35, "score_critical": 50,
        "score_per_tactic": 8, "score_per_sequence": 15, "score_per_sensitive_asset": 5,
        "score_max_sensitive_assets": 3, "score_first_seen_actor": 10,
    },
    # Automated response (pipeline.response): dry-run unless told otherwise.
    "response": {
        "dry_run": True,
        "allow_list": [],
        "quarantine_group_name": "",  # default trailguard-quarantine
        "snapshot_volumes": False,
        "audit_log": "",  # default <data_dir>/response-audit.jsonl
        "min_guardduty_severity": 4.0,
    },
    # `trailguard doctor` (pipeline.doctor): what the AWS side must look like; names match deploy/terraform.
    "doctor": {
        "trail": "trailguard-org-trail",
        "trail_region": "",
        "regions": [],  # GuardDuty regions; default [catalog] regions
        "guardduty_features": ["S3_DATA_EVENTS", "EKS_AUDIT_LOGS"],
        "export_bucket": "",  # default: the bucket of `source`
        "rule": "trailguard-guardduty-findings",
        "response_function": "trailguard-response",
        "max_delivery_age_minutes": 60,
        "max_tick_age_minutes": 60,
    },
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


class ConfigError(UsageError):
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

    @property
    def findings_store(self) -> str:
        """Where findings are kept: ``findings_store``, else the data directory."""
        return str(self.raw.get("findings_store") or self.data_dir)

    @property
    def hot_tier(self) -> bool:
        """``[schedule] hot_tier``: ticks read each delivery once, through the incremental hot tier.

        ``"auto"`` (the default) turns it on where it pays and can run: the Athena engine (where a
        tick would otherwise re-read whole days, once per detection), with ``[catalog] lake_uri``
        set (where the tier is written) and DuckDB installed (the runner's local engine; the
        runner's Lambda zip leaves it out, so there the tick goes the old way). The embedded engine
        reads local files either way and keeps the plain path unless told ``true``.
        """
        value = self.raw.get("schedule", {}).get("hot_tier", "auto")
        if value != "auto":
            return value is True or _ENV_BOOLEANS.get(str(value).strip().lower(), False)
        lake_uri = str(self.raw.get("catalog", {}).get("lake_uri") or "")
        return self.engine == "athena" and lake_uri.startswith("s3://") and _installed("duckdb")

    @property
    def state_location(self) -> str:
        """Where scheduling state is kept: ``state``, else ``<data_dir>/state``."""
        return str(self.raw.get("state") or self.data_dir / "state")

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


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


_ENV_BOOLEANS = {"true": True, "1": True, "yes": True, "on": True,
                 "false": False, "0": False, "no": False, "off": False}


def _env_value(text: str, default: Any) -> Any:
    """An environment value read as the type of the key's default.

    Strings stay strings (an account id ``012345678901`` is not a number); lists take JSON
    (``["1","2"]``) or commas (``111111111111,222222222222``; one id alone is a list of one).
    """
    if isinstance(default, str):
        return text
    if isinstance(default, bool) and text.strip().lower() in _ENV_BOOLEANS:
        return _ENV_BOOLEANS[text.strip().lower()]
    if isinstance(default, list):
        value = _parse_env_value(text) if text.strip().startswith("[") else None
        return value if isinstance(value, list) else [v.strip() for v in text.split(",") if v.strip()]
    return _parse_env_value(text)


def _apply_env(raw: dict[str, Any], environ: dict[str, str]) -> None:
    for name, text in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or name == ENV_PREFIX + "CONFIG":
            continue
        parts = name[len(ENV_PREFIX) :].lower()
        if parts in raw and not isinstance(raw[parts], dict):
            raw[parts] = _env_value(text, DEFAULTS.get(parts))
            continue
        section, _, rest = parts.partition("_")
        if section == "detections":
            # TRAILGUARD_DETECTIONS_<ID>_<PARAM>: the id itself contains underscores, so match known ids.
            _apply_detection_env(raw, rest, text)
        elif section in raw and isinstance(raw[section], dict) and rest:
            raw[section][rest] = _env_value(text, DEFAULTS.get(section, {}).get(rest, raw[section].get(rest)))


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
        problem = validate(loaded)
        if problem:
            raise ConfigError(f"{chosen}: {problem}")
        _merge(raw, loaded)
        used = chosen
    _apply_env(raw, environ)
    problem = validate(raw)
    if problem:
        raise ConfigError(f"environment: {problem}")
    return Settings(raw=raw, path=used)


# The schema is DEFAULTS itself: a key is known when DEFAULTS has it, and its value must have the
# default's type. These tables are open (their keys are data), checked by the code that reads them.
OPEN_TABLES = {"detections", "cost.volumes"}
CHOICES = {"engine": ("duckdb", "athena"), "schedule.hot_tier": ("auto", "true", "false")}
ALSO_BOOLEANS = {"schedule.hot_tier"}  # "auto", or true/false
DETECTION_KEYS = {"enabled": bool}  # beyond the parameters a detection's header declares
ALSO_INTEGERS = {"athena.max_scan"}  # a size: "10GB" or a number of bytes


def _name(path: str) -> str:
    section, _, key = path.rpartition(".")
    return f"[{section}] {key}" if section else key


def _closest(word: str, known: list[str]) -> str:
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else f" (known: {', '.join(sorted(known))})"


def _type_problem(path: str, value: Any, default: Any) -> str | None:
    """One line when ``value`` has not the type of ``default`` (booleans are only booleans)."""
    if isinstance(default, bool):
        ok, kind = isinstance(value, bool), "true or false"
    elif isinstance(default, int):
        ok, kind = isinstance(value, int) and not isinstance(value, bool), "a whole number"
    elif isinstance(default, float):
        ok, kind = isinstance(value, int | float) and not isinstance(value, bool), "a number"
    elif isinstance(default, str):
        ok, kind = isinstance(value, str | date), "a string"
    elif isinstance(default, list):
        ok, kind = isinstance(value, list), "a list"
    else:
        ok, kind = isinstance(value, dict), "a table"
    return None if ok else f"{_name(path)}: {value!r} is not {kind}"


def _check_table(table: dict[str, Any], defaults: dict[str, Any], prefix: str) -> str | None:
    for key, value in table.items():
        path = f"{prefix}{key}"
        if key not in defaults:
            where = f"[{prefix.rstrip('.')}] " if prefix else ""
            kind = "section" if isinstance(value, dict) and not prefix else "key"
            return f"{where}{key}: unknown {kind}{_closest(key, list(defaults))}"
        default = defaults[key]
        whole_number = isinstance(value, int) and not isinstance(value, bool)
        also = (path in ALSO_INTEGERS and whole_number) or (path in ALSO_BOOLEANS and isinstance(value, bool))
        problem = None if also else _type_problem(path, value, default)
        if problem and path in ALSO_BOOLEANS:
            problem = f"{_name(path)}: {value!r} is not auto, true or false"
        if problem:
            return problem
        if path in CHOICES and not isinstance(value, bool) and value not in CHOICES[path]:
            return f"{path}: {value!r} is not one of {', '.join(CHOICES[path])}"
        if isinstance(default, dict) and path not in OPEN_TABLES and default:
            problem = _check_table(value, default, path + ".")
        elif path == "detections":
            problem = _check_detections(value)
        elif isinstance(default, list) and path in ("suppressions", "sinks"):
            bad = [i for i, item in enumerate(value) if not isinstance(item, dict)]
            problem = f"{path}[{bad[0]}]: must be a table ([[{path}]])" if bad else None
        if problem:
            return problem
    return None


def _check_detections(table: dict[str, Any]) -> str | None:
    """``[detections.<id>]``: a known id, a table, ``enabled`` a boolean (parameters: the detection's)."""
    known = sorted(known_detection_ids())
    for detection_id, value in table.items():
        if detection_id not in known:
            return f"[detections.{detection_id}]: unknown detection{_closest(detection_id, known)}"
        if not isinstance(value, dict):
            return f"detections.{detection_id}: must be a table ([detections.{detection_id}])"
        for key, kind in DETECTION_KEYS.items():
            if key in value and not isinstance(value[key], kind):
                return f"[detections.{detection_id}] {key}: {value[key]!r} is not true or false"
    return None


def validate(tree: dict[str, Any]) -> str | None:
    """The first problem of a configuration tree against DEFAULTS, as one line; None when it fits.

    Unknown sections and keys name the closest known one; values must have their default's type.
    Detection parameters, suppressions and sinks are checked further by the code that owns them
    (``pipeline.workflow.check_configuration``).
    """
    return _check_table(tree, DEFAULTS, "")
