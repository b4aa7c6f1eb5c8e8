"""A source's lake and the engine over it: what every command that reads logs starts with.

Each source gets its own Parquet lake under the data directory; an ``s3://`` source is first
synced to a local folder with the bucket's layout. On Athena the tables are read where they are,
and days that ``trailguard compact`` already rewrote as Parquet are read from the Parquet table.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.catalog.specs import load_specs
from pipeline.config import ConfigError, Settings
from pipeline.engines.base import Engine
from pipeline.lake.report import IngestReport
from pipeline.source.limits import Limits
from pipeline.source.s3 import uri_slug

if TYPE_CHECKING:
    from pipeline.engines.athena import CompactedDays

Progress = Callable[[str, int, int], None]


def lake_for(settings: Settings, source: str) -> Path:
    """Each source gets its own lake under the data directory, so two sources never mix."""
    if source.startswith("s3://"):
        slug = uri_slug(source)
    else:
        slug = Path(source).resolve().name or "root"
        source = str(Path(source).resolve())
    digest = hashlib.sha1(source.encode()).hexdigest()[:8]
    return settings.data_dir / "lake" / f"{slug}-{digest}"


def local_root(
    settings: Settings, source: str, days: list[str] | None, progress: Progress | None = None
) -> Path:
    """A local folder with the bucket layout: the source itself, or a synced copy of an S3 source."""
    if source.startswith("s3://"):
        import boto3

        from pipeline.source.s3sync import sync_source

        dest = settings.data_dir / "s3cache" / uri_slug(source)
        try:
            sync_source(
                source,
                dest,
                days or [],
                boto3.client("s3"),
                progress=(lambda d, t: progress("sync", d, t)) if progress else None,
            )
        except ValueError as exc:  # a malformed s3:// URI or day
            raise ConfigError(f"source {source}: {exc}") from exc
        return dest
    root = Path(source)
    if not root.is_dir():
        raise ConfigError(f"source {source}: no such folder")
    return root


def ingest_limits(settings: Settings) -> Limits:
    """``[ingest] max_file_bytes`` / ``max_records_per_file``; a bad value names itself."""
    try:
        return Limits.from_config(settings.raw.get("ingest"))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def ingest(
    settings: Settings,
    source: str,
    days: list[str] | None = None,
    progress: Progress | None = None,
    tables: tuple[str, ...] = ("cloudtrail", "guardduty_findings"),
) -> tuple[Path, list[IngestReport]]:
    """Bring new raw files of ``source`` (only ``days`` when given) into its Parquet lake.

    ``tables``: which ones (with the hot tier on, scheduled runs read CloudTrail from the tier).
    """
    # Imported here so the Athena path (the runner Lambda) never loads DuckDB: without it the
    # runner's zip fits Lambda's 250 MB limit (scripts/package_lambda.py).
    from pipeline.lake.ingest import ingest_table

    root = local_root(settings, source, days, progress)
    lake = lake_for(settings, source)
    specs = load_specs()
    wanted = set(days) if days is not None else None
    limits = ingest_limits(settings)
    reports = []
    with ingest_lock(lake):
        for table in tables:
            callback = (lambda d, t, name=table: progress(f"ingest {name}", d, t)) if progress else None
            reports.append(ingest_table(specs[table], root, lake, days=wanted, progress=callback,
                                        limits=limits))
    return lake, reports


@contextlib.contextmanager
def ingest_lock(lake: Path) -> Iterator[None]:
    """One ingest at a time per lake, across processes: a second ``run`` (or ``detect``) waits here.

    Two runners ingesting the same new files at once wrote the same temporary part and crashed;
    under the lock the second one reads the first one's ingest state and finds nothing left to do.
    An ``flock`` cannot go stale: the kernel drops it when its holder dies."""
    (lake / "_state").mkdir(parents=True, exist_ok=True)
    with open(lake / "_state" / "ingest.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def open_engine(settings: Settings, lake: Path | None = None) -> Engine:
    """The configured engine: DuckDB over ``lake``, or Athena from the ``[athena]`` settings."""
    if settings.engine == "athena":
        from pipeline.engines.athena import AthenaEngine

        return AthenaEngine.from_settings(settings, compacted=_compacted_days(settings))
    from pipeline.engines.duckdb import DuckDBEngine, configured_options

    if lake is None:
        lake = lake_for(settings, settings.source)
    return DuckDBEngine(lake, **configured_options(settings))


def _compacted_days(settings: Settings) -> CompactedDays | None:
    """Which days Athena may read from the Parquet table (markers under ``[catalog] lake_uri``)."""
    if not settings["catalog"].get("lake_uri"):
        return None
    import boto3

    from pipeline.catalog.athena import catalog_settings
    from pipeline.lake.athena_compact import compacted_days

    region = str(settings["athena"].get("region") or "") or None
    return compacted_days(boto3.client("s3", region_name=region), catalog_settings(settings))
