"""The synthetic organization: accounts, regions, people, roles and per-region resource pools.

Long-lived identifiers (role ids, access keys, detector ids) are derived by hashing the seed with
a name instead of drawing from the shared rng, so that they do not shift when the number of
background events changes, and a scenario written against "the prod deploy role" finds the same id
the background traffic uses.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass, field

from .records import UPPER_ALNUM

REGIONS: tuple[str, ...] = ("us-east-1", "eu-west-1", "ap-southeast-2")
HOME_REGION = "us-east-1"
SSO_REGION = "eu-west-1"  # where IAM Identity Center lives; shows in the AWSReservedSSO role path
EMAIL_DOMAIN = "example.com"


@dataclass(frozen=True)
class Account:
    """One member account; ``weight`` is its share of background traffic."""

    id: str
    name: str
    role: str  # management | security | workload
    weight: float
    region_weights: tuple[float, ...]


@dataclass
class RegionPool:
    """Resources living in one account and region, so requests name things that exist."""

    instances: list[str]
    functions: list[str]
    stacks: list[str]
    clusters: list[str]
    keys: list[str]
    secrets: list[str]
    params: list[str]
    sgs: list[str]
    vpc: str
    subnets: list[str]
    tables: list[str]
    log_groups: list[str]
    dbs: list[str]
    nat_ips: list[str]
    vpce: str
    private_net: str
    detector: str


@dataclass(frozen=True)
class Person:
    """A human with an IAM Identity Center login; ``tz`` is the UTC offset of their working day."""

    name: str
    email: str
    tz: int
    ip: str
    persona: str  # admin | developer | readonly


@dataclass(frozen=True)
class IamUser:
    """A legacy IAM user in the management account (console password with MFA plus an access key)."""

    name: str
    principal_id: str
    access_key: str
    ip: str
    tz: int


@dataclass
class Org:
    """Everything about the organization that background traffic and scenarios share."""

    seed: int
    id: str
    accounts: list[Account]
    regions: tuple[str, ...]
    pools: dict[tuple[str, str], RegionPool]
    buckets: dict[str, list[str]]
    people: list[Person]
    iam_users: list[IamUser]
    vendor_account: str
    ci_ips: list[str]
    vendor_ips: list[str]
    _cache: dict[tuple[str, ...], str] = field(default_factory=dict)

    def by_role(self, role: str) -> list[Account]:
        return [a for a in self.accounts if a.role == role]

    @property
    def management(self) -> Account:
        return self.by_role("management")[0]

    @property
    def security(self) -> Account:
        return self.by_role("security")[0]

    @property
    def prod(self) -> Account:
        return self.accounts[2]

    @property
    def staging(self) -> Account:
        return self.accounts[3]

    def stable(self, prefix: str, n: int, *parts: str, alphabet: str = UPPER_ALNUM) -> str:
        """A deterministic id for a named thing (hash of seed and name), independent of rng order."""
        key = (prefix, str(n), alphabet, *parts)
        got = self._cache.get(key)
        if got is None:
            digest = hashlib.sha256(":".join((str(self.seed), *key)).encode()).digest()
            num = int.from_bytes(digest, "big")
            chars = []
            for _ in range(n):
                num, r = divmod(num, len(alphabet))
                chars.append(alphabet[r])
            got = prefix + "".join(chars)
            self._cache[key] = got
        return got

    def role_id(self, account: str, role: str) -> str:
        return self.stable("AROA", 17, account, role)

    def sso_role(self, account: str, permission_set: str) -> tuple[str, str]:
        """(role name, IAM path) of the role IAM Identity Center provisions for a permission set."""
        suffix = self.stable("", 16, account, permission_set, alphabet="0123456789abcdef")
        return (f"AWSReservedSSO_{permission_set}_{suffix}", f"/aws-reserved/sso.amazonaws.com/{SSO_REGION}/")


_PEOPLE = [
    ("maria.garcia", 1, "admin"),
    ("tom.becker", 1, "admin"),
    ("aisha.khan", 0, "admin"),
    ("liam.oconnor", 0, "developer"),
    ("sofia.rossi", 1, "developer"),
    ("kenji.watanabe", 11, "developer"),
    ("chloe.martin", 11, "developer"),
    ("david.cohen", -5, "developer"),
    ("emily.nguyen", -5, "developer"),
    ("raj.patel", -5, "developer"),
    ("olivia.smith", 11, "readonly"),
    ("noah.fischer", 1, "readonly"),
    ("grace.lee", -5, "readonly"),
    ("lucas.silva", 0, "admin"),
]


def _ip(rng: random.Random, first: tuple[int, ...]) -> str:
    return f"{rng.choice(first)}.{rng.randint(1, 254)}.{rng.randint(1, 254)}.{rng.randint(2, 250)}"


def _pool(r: random.Random, account: Account, region: str, scale: int) -> RegionPool:
    """Resource names for one account and region; ``scale`` grows busy places (more instances, apps)."""

    def hx(prefix: str, n: int = 17) -> str:
        return f"{prefix}{r.getrandbits(4 * n):0{n}x}"

    env = account.name.split("-")[-1]
    apps = ["orders", "payments", "catalog", "search", "notifications", "auth", "reports", "ingest"]
    n_inst = max(3, 6 * scale)
    second = r.randint(16, 31)
    return RegionPool(
        instances=[hx("i-") for _ in range(n_inst)],
        functions=[f"{env}-{a}-{fn}" for a in apps[: 2 + scale] for fn in ("handler", "worker")],
        stacks=[f"{env}-{a}-stack" for a in apps[: 2 + scale]] + [f"{env}-network", f"{env}-observability"],
        clusters=[f"{env}-cluster", f"{env}-batch"],
        keys=[str(uuid.UUID(int=r.getrandbits(128), version=4)) for _ in range(3)],
        secrets=[f"{env}/{a}/db-credentials" for a in apps[:3]] + [f"{env}/shared/api-token"],
        params=[f"/{env}/{a}/config" for a in apps[:4]] + [f"/{env}/shared/feature-flags"],
        sgs=[hx("sg-") for _ in range(6)],
        vpc=hx("vpc-"),
        subnets=[hx("subnet-") for _ in range(4)],
        tables=[f"{env}-{a}" for a in apps[:4]],
        log_groups=[f"/aws/lambda/{env}-{a}-handler" for a in apps[:4]] + [f"/ecs/{env}-cluster"],
        dbs=[f"{env}-{a}-db" for a in apps[:2]],
        nat_ips=[
            _ip(r, (3, 18, 34, 44, 52, 54)) if region != "ap-southeast-2" else _ip(r, (13, 52, 54))
            for _ in range(2)
        ],
        vpce=hx("vpce-"),
        private_net=f"10.{second}.",
        detector=f"{r.getrandbits(128):032x}",
    )


def build_org(seed: int) -> Org:
    """Create the organization; draws only from its own rng stream so it is the same for any size."""
    rng = random.Random(f"trailguard-demo:{seed}:org")
    used: set[str] = set()

    def account_id() -> str:
        while True:
            got = f"{rng.randrange(10**11, 10**12):012d}"
            if got not in used:
                used.add(got)
                return got

    org_id = "o-" + "".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=10))
    accounts = [
        Account(account_id(), "management", "management", 0.07, (0.82, 0.13, 0.05)),
        Account(account_id(), "security-audit", "security", 0.18, (0.5, 0.3, 0.2)),
        Account(account_id(), "workload-prod", "workload", 0.5, (0.5, 0.35, 0.15)),
        Account(account_id(), "workload-staging", "workload", 0.25, (0.6, 0.3, 0.1)),
    ]
    scale = {"management": 1, "security": 1, "workload": 3}
    pools = {}
    for acct in accounts:
        for i, region in enumerate(REGIONS):
            s = scale[acct.role] if acct.region_weights[i] >= 0.3 else 1
            pools[(acct.id, region)] = _pool(rng, acct, region, s)
    short = org_id[2:8]
    buckets = {
        accounts[0].id: [f"{short}-billing-reports", f"{short}-org-terraform-state"],
        accounts[1].id: [
            f"{short}-org-cloudtrail-logs",
            f"{short}-guardduty-findings",
            f"{short}-security-tools",
        ],
        accounts[2].id: [
            f"{short}-prod-assets",
            f"{short}-prod-uploads",
            f"{short}-prod-backups",
            f"{short}-prod-static-site",
            f"{short}-prod-data-lake",
        ],
        accounts[3].id: [f"{short}-staging-assets", f"{short}-staging-uploads", f"{short}-staging-artifacts"],
    }
    office = {1: (185, 91, 62), 0: (81, 86, 31), -5: (73, 98, 108), 11: (101, 110, 124)}
    people = [
        Person(n, f"{n}@{EMAIL_DOMAIN}", tz, _ip(rng, office[tz]), persona) for n, tz, persona in _PEOPLE
    ]
    org = Org(
        seed=seed,
        id=org_id,
        accounts=accounts,
        regions=REGIONS,
        pools=pools,
        buckets=buckets,
        people=people,
        iam_users=[],
        vendor_account=f"{rng.randrange(10**11, 10**12):012d}",
        ci_ips=[_ip(rng, (4, 20, 40, 52, 172)) for _ in range(24)],
        vendor_ips=[_ip(rng, (3, 18, 34, 54)) for _ in range(6)],
    )
    mgmt = accounts[0].id
    for name, tz in (("finops.reporting", 0), ("it.helpdesk", 1), ("backup.operator", -5)):
        org.iam_users.append(
            IamUser(
                name,
                org.stable("AIDA", 17, mgmt, name),
                org.stable("AKIA", 16, mgmt, name),
                _ip(rng, office[tz]),
                tz,
            )
        )
    return org
