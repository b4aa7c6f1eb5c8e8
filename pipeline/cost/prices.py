"""Price books: versioned YAML files of list prices, with their source, date and basis.

Prices are data, never code: a new AWS price means a new ``prices/YYYY-MM.yaml`` (or a file named
in ``[cost] prices``), and every estimate says which version it used. Loading validates the file
completely, so a typo fails with one line naming the file and the item instead of turning into a
silently wrong bill.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.config import ConfigError
from pipeline.cost.tiers import Tier, tiered_cost

PRICES_DIR = Path(__file__).resolve().parent / "prices"
BASES = ("issue", "aws-page", "knowledge")
# The S3 dimensions of keeping the logs (storage classes, requests, lifecycle transitions).
S3_STORAGE_ITEMS = (
    "s3.standard",
    "s3.standard_ia",
    "s3.glacier",
    "s3.put_requests",
    "s3.transition_ia",
    "s3.transition_glacier",
)
REQUIRED_ITEMS = (
    "guardduty.management_events",
    "guardduty.s3_data_events",
    "guardduty.flow_dns_logs",
    "guardduty.eks_audit_logs",
    "guardduty.runtime_monitoring",
    "guardduty.malware_ec2",
    "guardduty.malware_s3_gb",
    "guardduty.malware_s3_objects",
    "guardduty.rds_protection",
    "guardduty.lambda_network_logs",
    "cloudtrail.management_copies",
    "cloudtrail.data_events",
    "athena.scanned",
    *S3_STORAGE_ITEMS,
    "kms.keys",
    "kms.requests",
)


@dataclass(frozen=True)
class PriceItem:
    """One billed dimension: its tiers (per region when they differ), unit and where it came from."""

    key: str
    title: str
    unit: str
    per: float
    basis: str
    tiers: tuple[Tier, ...]
    regions: dict[str, tuple[Tier, ...]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def tiers_for(self, region: str | None) -> tuple[Tier, ...]:
        return self.regions.get(region or "", self.tiers)

    def cost(self, quantity: float, region: str | None = None) -> float:
        """Dollars for ``quantity`` units of one tier scope in ``region``."""
        return tiered_cost(quantity, self.tiers_for(region), self.per)


@dataclass(frozen=True)
class PriceBook:
    """A validated price file."""

    version: str
    currency: str
    retrieved: str
    path: Path
    sources: dict[str, str]
    items: dict[str, PriceItem]

    def __getitem__(self, key: str) -> PriceItem:
        return self.items[key]

    def describe(self) -> str:
        return f"prices {self.version} ({self.path.name}, retrieved {self.retrieved}, {self.currency})"


def _tiers(raw: Any, where: str) -> tuple[Tier, ...]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{where}: tiers must be a non-empty list of {{upto, rate}}")
    tiers, last = [], 0.0
    for number, band in enumerate(raw):
        if not isinstance(band, dict) or set(band) - {"upto", "rate"} or "rate" not in band:
            raise ConfigError(f"{where}: tier {number + 1} must be {{rate: N}} or {{upto: N, rate: N}}")
        rate, upto = band["rate"], band.get("upto")
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or rate < 0:
            raise ConfigError(f"{where}: tier {number + 1} rate {rate!r} is not a non-negative number")
        is_last = number == len(raw) - 1
        if is_last and upto is not None:
            raise ConfigError(f"{where}: the last tier must have no upto (it covers everything beyond)")
        if not is_last:
            if isinstance(upto, bool) or not isinstance(upto, (int, float)) or upto <= last:
                raise ConfigError(f"{where}: tier {number + 1} upto {upto!r} must be a number above {last:g}")
            last = float(upto)
        tiers.append(Tier(rate=float(rate), upto=None if upto is None else float(upto)))
    return tuple(tiers)


def _item(key: str, raw: Any, where: str) -> PriceItem:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a mapping")
    missing = [k for k in ("title", "unit", "per", "basis", "tiers") if k not in raw]
    if missing:
        raise ConfigError(f"{where}: missing {', '.join(missing)}")
    if raw["basis"] not in BASES:
        raise ConfigError(f"{where}: basis {raw['basis']!r} is not one of {', '.join(BASES)}")
    per = raw["per"]
    if isinstance(per, bool) or not isinstance(per, (int, float)) or per <= 0:
        raise ConfigError(f"{where}: per {per!r} must be a positive number")
    regions = raw.get("regions") or {}
    if not isinstance(regions, dict):
        raise ConfigError(f"{where}: regions must map a region to its tiers")
    known = {"title", "unit", "per", "basis", "tiers", "regions"}
    return PriceItem(
        key=key,
        title=str(raw["title"]),
        unit=str(raw["unit"]),
        per=float(per),
        basis=str(raw["basis"]),
        tiers=_tiers(raw["tiers"], where),
        regions={str(r): _tiers(t, f"{where}.regions.{r}") for r, t in regions.items()},
        extra={k: v for k, v in raw.items() if k not in known},
    )


def load_prices(path: str | Path | None = None) -> PriceBook:
    """Load and validate a price file; without ``path``, the newest bundled version."""
    chosen = Path(path) if path else latest_price_file()
    if not chosen.is_file():
        raise ConfigError(f"cost.prices {chosen}: no such file")
    try:
        raw = yaml.safe_load(chosen.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{chosen}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("items"), dict):
        raise ConfigError(f"{chosen}: expected a mapping with version, currency, sources and items")
    for key in ("version", "currency", "retrieved", "sources"):
        if not raw.get(key):
            raise ConfigError(f"{chosen}: missing {key}")
    items = {str(k): _item(str(k), v, f"{chosen.name}: {k}") for k, v in raw["items"].items()}
    missing = [k for k in REQUIRED_ITEMS if k not in items]
    if missing:
        raise ConfigError(f"{chosen}: missing price item(s) {', '.join(missing)}")
    return PriceBook(
        version=str(raw["version"]),
        currency=str(raw["currency"]),
        retrieved=str(raw["retrieved"]),
        path=chosen,
        sources={str(k): str(v) for k, v in raw["sources"].items()},
        items=items,
    )


def latest_price_file(directory: Path = PRICES_DIR) -> Path:
    """The bundled file with the greatest version name (``2026-11.yaml`` beats ``2026-04.yaml``)."""
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise ConfigError(f"{directory}: no price files")
    return files[-1]
