"""ATT&CK in one table: the tactic each technique trailguard reports stands for, and their order.

A technique can serve several tactics in ATT&CK (T1078 Valid Accounts is initial access,
persistence, privilege escalation and defense evasion); an incident's timeline needs one word per
step, so each technique maps to the tactic it stands for *in the detections that carry it*. A
sub-technique falls back to its parent (T1098.001 -> T1098). GuardDuty findings all carry
T1078.004; their finding type's first part (``Discovery:``, ``Stealth:``, ...) says more and wins.
"""

from __future__ import annotations

from collections.abc import Iterable

#: Enterprise ATT&CK tactics in kill-chain order (ids TA0043 ... TA0040).
TACTICS: tuple[str, ...] = (
    "reconnaissance", "initial-access", "execution", "persistence", "privilege-escalation",
    "defense-evasion", "credential-access", "discovery", "lateral-movement", "collection",
    "command-and-control", "exfiltration", "impact",
)

#: Technique (or parent technique) -> the tactic it stands for in trailguard's detections.
TECHNIQUE_TACTIC: dict[str, str] = {
    "T1021": "lateral-movement", "T1059": "execution", "T1069": "discovery", "T1078": "initial-access",
    "T1087": "discovery", "T1098": "persistence", "T1110": "credential-access", "T1133": "persistence",
    "T1136": "persistence", "T1222": "defense-evasion", "T1485": "impact", "T1496": "impact",
    "T1525": "persistence", "T1526": "discovery", "T1530": "collection", "T1537": "exfiltration",
    "T1546": "persistence", "T1550": "defense-evasion", "T1552": "credential-access",
    "T1555": "credential-access", "T1562": "defense-evasion", "T1574": "persistence",
    "T1578": "defense-evasion", "T1580": "discovery", "T1651": "execution", "T1666": "defense-evasion",
}

#: GuardDuty's threat purpose (the finding type before the colon) -> tactic.
THREAT_PURPOSE_TACTIC: dict[str, str] = {
    "Backdoor": "command-and-control", "Behavior": "discovery", "CredentialAccess": "credential-access",
    "CryptoCurrency": "impact", "DefenseEvasion": "defense-evasion", "Discovery": "discovery",
    "Execution": "execution", "Exfiltration": "exfiltration", "Impact": "impact",
    "InitialAccess": "initial-access", "Persistence": "persistence", "Policy": "defense-evasion",
    "PrivilegeEscalation": "privilege-escalation", "Recon": "reconnaissance", "Stealth": "defense-evasion",
    "Trojan": "execution", "UnauthorizedAccess": "initial-access", "PenTest": "discovery",
}


def technique_tactic(technique: str) -> str | None:
    """The tactic for ``T1234`` or ``T1234.001``; None for an id the table does not know."""
    text = str(technique).strip().upper()
    return TECHNIQUE_TACTIC.get(text) or TECHNIQUE_TACTIC.get(text.split(".", 1)[0])


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
