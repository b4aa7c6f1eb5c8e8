"""ATT&CK tactics for incidents: one word per finding, in kill-chain order.

The technique table is the coverage report's (:data:`pipeline.detections.coverage.ATTACK`, names
and tactics from ATT&CK): a technique serving several tactics (T1078.004 Valid Accounts is initial
access, persistence, privilege escalation and defense evasion) stands for the first one listed
there, its primary. A sub-technique it does not list falls back to its parent. GuardDuty findings
all carry T1078.004; their finding type's first part (``Discovery:``, ``Stealth:``, ...) says more
and wins, through the one table below.
"""

from __future__ import annotations

from collections.abc import Iterable

from pipeline.detections.coverage import ATTACK

#: Enterprise ATT&CK tactics in kill-chain order (ids TA0043 ... TA0040).
TACTICS: tuple[str, ...] = (
    "reconnaissance", "initial-access", "execution", "persistence", "privilege-escalation",
    "defense-evasion", "credential-access", "discovery", "lateral-movement", "collection",
    "command-and-control", "exfiltration", "impact",
)

#: GuardDuty's threat purpose (the finding type before the colon) -> tactic.
THREAT_PURPOSE_TACTIC: dict[str, str] = {
    "Backdoor": "command-and-control", "Behavior": "discovery", "CredentialAccess": "credential-access",
    "CryptoCurrency": "impact", "DefenseEvasion": "defense-evasion", "Discovery": "discovery",
    "Execution": "execution", "Exfiltration": "exfiltration", "Impact": "impact",
    "InitialAccess": "initial-access", "Persistence": "persistence", "Policy": "defense-evasion",
    "PrivilegeEscalation": "privilege-escalation", "Recon": "reconnaissance", "Stealth": "defense-evasion",
    "Trojan": "execution", "UnauthorizedAccess": "initial-access", "PenTest": "discovery",
}


def _slug(tactic: str) -> str:
    return tactic.lower().replace(" ", "-")


def technique_tactic(technique: str) -> str | None:
    """The primary tactic of ``T1234.001`` (or of its parent ``T1234``); None for an unknown id."""
    text = str(technique).strip().upper()
    entry = ATTACK.get(text) or ATTACK.get(text.split(".", 1)[0])
    if entry is None:
        parents = [tactics for tid, (_, tactics) in ATTACK.items() if tid.split(".", 1)[0] == text]
        return _slug(parents[0][0]) if parents and parents[0] else None
    return _slug(entry[1][0]) if entry[1] else None


def finding_tactics(attack: Iterable[str], finding_type: str | None = None) -> list[str]:
    """A finding's tactics, kill-chain order; a GuardDuty type's purpose replaces the generic id."""
    if finding_type:
        purpose = THREAT_PURPOSE_TACTIC.get(str(finding_type).split(":", 1)[0])
        if purpose:
            return [purpose]
    found = {t for t in (technique_tactic(a) for a in attack or ()) if t}
    return sorted(found, key=TACTICS.index)


def check_tactic(name: str) -> str:
    """``name`` as a known tactic, or ValueError listing them (rules name tactics by these words)."""
    if name not in TACTICS:
        raise ValueError(f"{name!r} is not an ATT&CK tactic ({', '.join(TACTICS)})")
    return name
