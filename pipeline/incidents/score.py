"""An incident's score: a sum of a few visible terms, so a team can say why one outranks another.

    score = points[worst finding severity]
          + per_tactic          x (distinct ATT&CK tactics - 1)
          + per_sequence        x (sequence rules matched)
          + per_sensitive_asset x min(sensitive assets touched, max_sensitive_assets)
          + first_seen_actor      (if the actor had no finding in the first_seen_days before)
    capped at 100.

Every weight is a key of ``[incidents]`` in trailguard.toml (``score_low`` ... ``score_first_seen_actor``,
``sensitive``, ``first_seen_days``); :func:`score_terms` returns the terms, so ``incidents show``
prints the breakdown beside the total.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.findings.severity import SEVERITIES, check_severity


@dataclass(frozen=True)
class ScoreWeights:
    """The formula's weights (``[incidents]`` keys without the ``score_`` prefix)."""

    severity_points: Mapping[str, int]
    per_tactic: int = 8
    per_sequence: int = 15
    per_sensitive_asset: int = 5
    max_sensitive_assets: int = 3
    first_seen_actor: int = 10
    sensitive: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ScoreWeights:
        def number(key: str) -> int:
            value = config.get(key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"[incidents] {key}: {value!r} is not a whole number >= 0")
            return value

        sensitive = config.get("sensitive") or []
        if not isinstance(sensitive, list) or not all(isinstance(p, str) for p in sensitive):
            raise ValueError("[incidents] sensitive: must be a list of glob patterns")
        return cls(
            severity_points={s: number(f"score_{s}") for s in SEVERITIES},
            per_tactic=number("score_per_tactic"), per_sequence=number("score_per_sequence"),
            per_sensitive_asset=number("score_per_sensitive_asset"),
            max_sensitive_assets=number("score_max_sensitive_assets"),
            first_seen_actor=number("score_first_seen_actor"), sensitive=tuple(sensitive),
        )


def sensitive_assets(values: Iterable[str], patterns: Iterable[str]) -> list[str]:
    """The distinct values (ARNs, names, policy ARNs, accounts) matching a sensitive pattern."""
    patterns = [p.lower() for p in patterns]
    return sorted({v for v in values if any(fnmatch.fnmatchcase(v.lower(), p) for p in patterns)})


def score_terms(weights: ScoreWeights, worst: str, tactics: int, sequences: int, sensitive: int,
                first_seen: bool) -> dict[str, int]:
    """Each term of the formula; the score is their sum, capped at 100."""
    level = check_severity(worst) if worst in SEVERITIES else "critical"
    return {
        f"severity ({level})": int(weights.severity_points.get(level, 0)),
        f"tactics ({tactics})": weights.per_tactic * max(tactics - 1, 0),
        f"sequences ({sequences})": weights.per_sequence * sequences,
        f"sensitive assets ({sensitive})": weights.per_sensitive_asset * min(sensitive,
                                                                             weights.max_sensitive_assets),
        "first-seen actor": weights.first_seen_actor if first_seen else 0,
    }


def total(terms: Mapping[str, int]) -> int:
    return min(100, sum(terms.values()))
