"""The coverage matrix: which detections are meant for which ATT&CK techniques and Stratus attacks.

Generated from the detection headers (``attack`` and ``stratus``) alone, so it cannot disagree
with the library; ``trailguard coverage --write`` writes it to docs/coverage.md and a test fails
when the committed file is stale. Whether the detections really fire on the Stratus detonation
logs is measured by tests/detections/test_corpora.py, not claimed here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pipeline.detections.spec import Detection
from pipeline.paths import DOCS_DIR

DOC_PATH = DOCS_DIR / "coverage.md"

TACTICS = (
    "Initial Access",
    "Execution",
    "Persistence",
    "Privilege Escalation",
    "Defense Evasion",
    "Credential Access",
    "Discovery",
    "Lateral Movement",
    "Collection",
    "Exfiltration",
    "Impact",
)

_PERSIST = ("Persistence", "Privilege Escalation")
_CRED = ("Credential Access",)

# ATT&CK Enterprise techniques the library maps to: name and tactics (ATT&CK v16). A detection
# naming a technique missing here is listed under "unmapped" and fails tests/detections/test_coverage.py.
ATTACK: dict[str, tuple[str, tuple[str, ...]]] = {
    "T1021": ("Remote Services", ("Lateral Movement",)),
    "T1021.004": ("Remote Services: SSH", ("Lateral Movement",)),
    "T1059.009": ("Command and Scripting Interpreter: Cloud API", ("Execution",)),
    "T1069.003": ("Permission Groups Discovery: Cloud Groups", ("Discovery",)),
    "T1078.004": (
        "Valid Accounts: Cloud Accounts",
        ("Initial Access", "Persistence", "Privilege Escalation", "Defense Evasion"),
    ),
    "T1087.004": ("Account Discovery: Cloud Account", ("Discovery",)),
    "T1098": ("Account Manipulation", ("Persistence", "Privilege Escalation")),
    "T1098.001": ("Account Manipulation: Additional Cloud Credentials", _PERSIST),
    "T1098.003": ("Account Manipulation: Additional Cloud Roles", ("Persistence", "Privilege Escalation")),
    "T1098.004": ("Account Manipulation: SSH Authorized Keys", ("Persistence", "Privilege Escalation")),
    "T1110.001": ("Brute Force: Password Guessing", ("Credential Access",)),
    "T1110.003": ("Brute Force: Password Spraying", ("Credential Access",)),
    "T1133": ("External Remote Services", ("Initial Access", "Persistence")),
    "T1136.003": ("Create Account: Cloud Account", ("Persistence",)),
    "T1222": ("File and Directory Permissions Modification", ("Defense Evasion",)),
    "T1485": ("Data Destruction", ("Impact",)),
    "T1496": ("Resource Hijacking", ("Impact",)),
    "T1496.001": ("Resource Hijacking: Compute Hijacking", ("Impact",)),
    "T1525": ("Implant Internal Image", ("Persistence",)),
    "T1526": ("Cloud Service Discovery", ("Discovery",)),
    "T1530": ("Data from Cloud Storage", ("Collection",)),
    "T1537": ("Transfer Data to Cloud Account", ("Exfiltration",)),
    "T1546": ("Event Triggered Execution", ("Persistence", "Privilege Escalation")),
    "T1550.001": (
        "Use Alternate Authentication Material: Application Access Token",
        ("Defense Evasion", "Lateral Movement"),
    ),
    "T1552": ("Unsecured Credentials", ("Credential Access",)),
    "T1552.005": ("Unsecured Credentials: Cloud Instance Metadata API", ("Credential Access",)),
    "T1555": ("Credentials from Password Stores", ("Credential Access",)),
    "T1555.006": ("Credentials from Password Stores: Cloud Secrets Management Stores", _CRED),
    "T1562.001": ("Impair Defenses: Disable or Modify Tools", ("Defense Evasion",)),
    "T1562.007": ("Impair Defenses: Disable or Modify Cloud Firewall", ("Defense Evasion",)),
    "T1562.008": ("Impair Defenses: Disable or Modify Cloud Logs", ("Defense Evasion",)),
    "T1574": ("Hijack Execution Flow", ("Persistence", "Privilege Escalation", "Defense Evasion")),
    "T1578.002": ("Modify Cloud Compute Infrastructure: Create Cloud Instance", ("Defense Evasion",)),
    "T1580": ("Cloud Infrastructure Discovery", ("Discovery",)),
    "T1651": ("Cloud Administration Command", ("Execution",)),
    "T1666": ("Modify Cloud Resource Hierarchy", ("Defense Evasion",)),
}

# Every AWS technique of Stratus Red Team at DataDog/stratus-red-team@7c9a7a5a (the corpus in
# ../shared/corpora/stratus); the ones upstream publishes no detonation log for are marked.
STRATUS_TECHNIQUES = (
    "aws.credential-access.ec2-get-password-data",
    "aws.credential-access.ec2-steal-instance-credentials",
    "aws.credential-access.secretsmanager-batch-retrieve-secrets",
    "aws.credential-access.secretsmanager-retrieve-secrets",
    "aws.credential-access.ssm-retrieve-securestring-parameters",
    "aws.defense-evasion.cloudtrail-delete",
    "aws.defense-evasion.cloudtrail-event-selectors",
    "aws.defense-evasion.cloudtrail-lifecycle-rule",
    "aws.defense-evasion.cloudtrail-stop",
    "aws.defense-evasion.dns-delete-logs",
    "aws.defense-evasion.organizations-leave",
    "aws.defense-evasion.vpc-remove-flow-logs",
    "aws.discovery.ec2-download-user-data",
    "aws.discovery.ec2-enumerate-from-instance",
    "aws.discovery.ses-enumerate",
    "aws.execution.ec2-launch-unusual-instances",
    "aws.execution.ec2-user-data",
    "aws.execution.sagemaker-update-lifecycle-config",
    "aws.execution.ssm-send-command",
    "aws.execution.ssm-start-session",
    "aws.exfiltration.ec2-security-group-open-port-22-ingress",
    "aws.exfiltration.ec2-share-ami",
    "aws.exfiltration.ec2-share-ebs-snapshot",
    "aws.exfiltration.rds-share-snapshot",
    "aws.exfiltration.s3-backdoor-bucket-policy",
    "aws.impact.bedrock-invoke-model",
    "aws.impact.ec2-deregister-ami",
    "aws.impact.s3-ransomware-batch-deletion",
    "aws.impact.s3-ransomware-client-side-encryption",
    "aws.impact.s3-ransomware-individual-deletion",
    "aws.initial-access.console-login-without-mfa",
    "aws.lateral-movement.ec2-instance-connect",
    "aws.lateral-movement.ec2-serial-console-send-ssh-public-key",
    "aws.persistence.iam-backdoor-role",
    "aws.persistence.iam-backdoor-user",
    "aws.persistence.iam-create-admin-user",
    "aws.persistence.iam-create-backdoor-role",
    "aws.persistence.iam-create-user-login-profile",
    "aws.persistence.lambda-backdoor-function",
    "aws.persistence.lambda-layer-extension",
    "aws.persistence.lambda-overwrite-code",
    "aws.persistence.rolesanywhere-create-trust-anchor",
    "aws.persistence.sts-federation-token",
    "aws.privilege-escalation.iam-update-user-login-profile",
)
STRATUS_WITHOUT_LOG = frozenset(
    {
        "aws.defense-evasion.cloudtrail-lifecycle-rule",
        "aws.discovery.ec2-enumerate-from-instance",
        "aws.discovery.ses-enumerate",
        "aws.execution.sagemaker-update-lifecycle-config",
        "aws.exfiltration.s3-backdoor-bucket-policy",
        "aws.impact.ec2-deregister-ami",
        "aws.impact.s3-ransomware-batch-deletion",
        "aws.impact.s3-ransomware-client-side-encryption",
        "aws.impact.s3-ransomware-individual-deletion",
    }
)


@dataclass(frozen=True)
class Coverage:
    """The matrix in both directions, ready to print or render."""

    attack: dict[str, list[str]]  # technique id -> detection ids
    stratus: dict[str, list[str]]  # every known Stratus technique -> detection ids (maybe none)
    unknown_attack: list[str]  # technique ids a detection names that ATTACK does not know
    unknown_stratus: list[str]  # Stratus ids a detection names that STRATUS_TECHNIQUES does not know
    detection_count: int

    @property
    def stratus_covered(self) -> list[str]:
        return [t for t, ids in self.stratus.items() if ids]

    @property
    def stratus_with_log(self) -> list[str]:
        return [t for t in self.stratus if t not in STRATUS_WITHOUT_LOG]

    def tactic_rows(self) -> list[tuple[str, str, str, list[str]]]:
        """(tactic, technique id, name, detection ids) in kill-chain order, then by technique."""
        rows = []
        for tactic in TACTICS:
            for technique in sorted(self.attack):
                name, tactics = ATTACK.get(technique, ("?", ()))
                if tactic in tactics:
                    rows.append((tactic, technique, name, self.attack[technique]))
        return rows


def build(detections: Iterable[Detection]) -> Coverage:
    """The coverage of a set of detections, from their headers."""
    detections = sorted(detections, key=lambda d: d.id)
    attack: dict[str, list[str]] = {}
    stratus: dict[str, list[str]] = {t: [] for t in STRATUS_TECHNIQUES}
    unknown_stratus: set[str] = set()
    for detection in detections:
        for technique in detection.attack:
            attack.setdefault(technique, []).append(detection.id)
        for technique in detection.stratus:
            if technique not in stratus:
                unknown_stratus.add(technique)
            stratus.setdefault(technique, []).append(detection.id)
    return Coverage(
        attack=dict(sorted(attack.items())),
        stratus=stratus,
        unknown_attack=sorted(t for t in attack if t not in ATTACK),
        unknown_stratus=sorted(unknown_stratus),
        detection_count=len(detections),
    )


def _md_table(columns: list[str], rows: Iterable[Iterable[str]]) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell or "—" for cell in row) + " |" for row in rows]
    return lines


def _ids(ids: list[str]) -> str:
    return ", ".join(f"`{i}`" for i in ids)


def render_markdown(coverage: Coverage) -> str:
    """docs/coverage.md: deterministic, so the staleness test compares text."""
    with_log = coverage.stratus_with_log
    covered_with_log = [t for t in with_log if coverage.stratus[t]]
    out = [
        "# Detection coverage",
        "",
        "<!-- Generated by `trailguard coverage --write` from the detection headers (`attack`, `stratus`).",
        "     Do not edit by hand: tests/detections/test_coverage.py fails when this file is stale. -->",
        "",
        f"{coverage.detection_count} detections. Stratus Red Team: {len(coverage.stratus_covered)} of "
        f"{len(coverage.stratus)} AWS techniques have a detection meant for them; "
        f"{len(covered_with_log)} of the {len(with_log)} with a published detonation log. That the "
        "detections really fire on those logs is checked by `tests/detections/test_corpora.py`, which "
        "replays every log.",
        "",
        "## ATT&CK tactic and technique → detections",
        "",
    ]
    out += _md_table(
        ["tactic", "technique", "name", "detections"],
        ((tactic, technique, name, _ids(ids)) for tactic, technique, name, ids in coverage.tactic_rows()),
    )
    if coverage.unknown_attack:
        unmapped = ", ".join(coverage.unknown_attack)
        out += ["", f"Unmapped technique ids (add them to `pipeline/coverage.py`): {unmapped}"]
    out += ["", "## Stratus Red Team technique → detections", ""]
    out += _md_table(
        ["technique", "detonation log", "detections"],
        (
            (f"`{t}`", "no" if t in STRATUS_WITHOUT_LOG else "yes", _ids(ids))
            for t, ids in coverage.stratus.items()
        ),
    )
    uncovered = [t for t, ids in coverage.stratus.items() if not ids]
    out += ["", "### Not covered", ""]
    out += [f"- `{t}`" + (" (no detonation log)" if t in STRATUS_WITHOUT_LOG else "") for t in uncovered] or [
        "None."
    ]
    return "\n".join(out) + "\n"


def is_stale(coverage: Coverage, path: Path = DOC_PATH) -> bool:
    """True when the file on disk is not what ``render_markdown`` gives now."""
    return not path.is_file() or path.read_text(encoding="utf-8") != render_markdown(coverage)


def write(coverage: Coverage, path: Path = DOC_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_markdown(coverage), encoding="utf-8")
    return path
