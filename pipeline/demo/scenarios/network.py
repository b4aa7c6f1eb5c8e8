"""Network scenarios: security-group ingress (open and not), its look-alikes, and NACL changes."""

from __future__ import annotations

from typing import Any

from pipeline.demo.scenarios.base import Book
from pipeline.demo.sessions import CLI_LINUX

EC2 = "ec2.amazonaws.com"


def perm(
    proto: str,
    port: int,
    v4: list[dict[str, str]] | None = None,
    v6: list[dict[str, str]] | None = None,
    groups: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """One ipPermissions item in EC2's CloudTrail shape (empty collections are ``{}``)."""
    return {
        "ipProtocol": proto,
        "fromPort": port,
        "toPort": port,
        "groups": {"items": groups} if groups else {},
        "ipRanges": {"items": v4} if v4 else {},
        "ipv6Ranges": {"items": v6} if v6 else {},
        "prefixListIds": {},
    }


def rule_set(b: Book, acct: str, sg: str, perms: list[dict[str, Any]], egress: bool) -> dict[str, Any]:
    """responseElements of a successful Authorize*: the rules that were created."""
    items = []
    for p in perms:
        for r in p["ipRanges"].get("items", []) + p["ipv6Ranges"].get("items", []):
            cidr = {"cidrIpv4": r["cidrIp"]} if "cidrIp" in r else {"cidrIpv6": r["cidrIpv6"]}
            items.append(
                {
                    "groupOwnerId": acct,
                    "groupId": sg,
                    "securityGroupRuleId": "sgr-" + b.ids.hex(17),
                    "isEgress": egress,
                    "ipProtocol": p["ipProtocol"],
                    "fromPort": p["fromPort"],
                    "toPort": p["toPort"],
                    **cidr,
                }
            )
    return {"requestId": b.ids.uuid(), "_return": True, "securityGroupRuleSet": {"items": items}}


def network_scenarios(b: Book) -> None:
    org = b.org
    prod, staging = org.prod.id, org.staging.id
    world = [{"cidrIp": "0.0.0.0/0", "description": "temp debug"}]
    note = [{"cidrIp": "10.40.0.0/16", "description": "replaces the 0.0.0.0/0 rule removed in INC-2231"}]
    peer = [{"groupId": "sg-0a1b2c3d4e5f60718", "userId": prod}]
    ingress = "AuthorizeSecurityGroupIngress"
    # (day, hour, person, account, region, eventName, ipPermissions or the flat one-rule form, error, open?)
    steps: list[tuple[int, int, str, str, str, str, Any, str | None, bool | None]] = [
        (
            2,
            15,
            "david.cohen",
            prod,
            "eu-west-1",
            ingress,
            [perm("tcp", 5432, [{"cidrIp": "10.40.0.0/16"}]), perm("tcp", 22, world)],
            None,
            True,
        ),
        (
            4,
            10,
            "chloe.martin",
            staging,
            "ap-southeast-2",
            ingress,
            [perm("tcp", 443, v6=[{"cidrIpv6": "::/0"}])],
            None,
            True,
        ),
        (
            6,
            14,
            "sofia.rossi",
            staging,
            "eu-west-1",
            ingress,
            {"cidrIp": "192.0.2.10/0", "fromPort": 3389, "toPort": 3389, "ipProtocol": "tcp"},
            None,
            True,
        ),
        (
            8,
            11,
            "tom.becker",
            prod,
            "us-east-1",
            ingress,
            [perm("tcp", 8443, note, groups=peer)],
            None,
            False,
        ),
        (
            11,
            16,
            "raj.patel",
            staging,
            "us-east-1",
            ingress,
            {"cidrIp": "203.0.113.0/24", "fromPort": 22, "toPort": 22, "ipProtocol": "tcp"},
            None,
            False,
        ),
        # Near misses: egress, revoke, a refused call.
        (
            3,
            11,
            "david.cohen",
            prod,
            "us-east-1",
            "AuthorizeSecurityGroupEgress",
            [perm("-1", -1, world)],
            None,
            None,
        ),
        (
            3,
            12,
            "david.cohen",
            prod,
            "eu-west-1",
            "RevokeSecurityGroupIngress",
            [perm("tcp", 22, world)],
            None,
            None,
        ),
        (
            9,
            15,
            "sofia.rossi",
            staging,
            "eu-west-1",
            ingress,
            [perm("tcp", 22, world)],
            "Client.UnauthorizedOperation",
            None,
        ),
    ]
    for i, (day, hh, person, acct, region, name, perms, error, open_) in enumerate(steps):
        ts = b.at(day, hh, (i * 13) % 60, 29)
        pool = org.pools[(acct, region)]
        sg = pool.sgs[i % len(pool.sgs)]
        sess = b.sso(person, acct, ts, console=i % 2 == 1)
        if isinstance(perms, dict):  # the flat form some SDKs send (and the Stratus sample shows)
            params: dict[str, Any] = {"groupId": sg, "ipPermissions": {}, **perms}
            rules = [perm(perms["ipProtocol"], perms["fromPort"], [{"cidrIp": perms["cidrIp"]}])]
        else:
            params, rules = {"groupId": sg, "ipPermissions": {"items": perms}}, perms
        response = None if error else rule_set(b, acct, sg, rules, egress="Egress" in name)
        eid = b.call(sess, ts, EC2, name, acct, region, params, response, error=error, read_only=False)
        scenario = f"sg_{name}_{i}"
        if open_ is None:
            what = name + (f" refused ({error})" if error else "")
            b.label(scenario, None, [eid], what + ": fires neither security-group detection.")
            continue
        b.label(
            scenario,
            "security_group_ingress_changed",
            [eid],
            f"Ingress added to {sg}.",
            not_ids=() if open_ else ("security_group_open_to_world",),
        )
        if open_:
            b.label(scenario, "security_group_open_to_world", [eid], f"{sg} opened to the whole internet.")
    ts = b.at(9, 10, 3)
    sess = b.sso("tom.becker", prod, ts, console=True)
    pool = org.pools[(prod, "us-east-1")]
    change = {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "CidrIpv4": "0.0.0.0/0"}
    rule = {"tag": 1, "SecurityGroupRuleId": "sgr-" + b.ids.hex(17), "SecurityGroupRule": change}
    modify = {"ModifySecurityGroupRulesRequest": {"GroupId": pool.sgs[0], "SecurityGroupRule": rule}}
    mod = b.call(
        sess,
        ts,
        EC2,
        "ModifySecurityGroupRules",
        prod,
        "us-east-1",
        modify,
        {"ModifySecurityGroupRulesResponse": {"return": True}},
        read_only=False,
    )
    b.label(
        "sg_modify_rules_world",
        None,
        [mod],
        "ModifySecurityGroupRules to 0.0.0.0/0 fires neither SG detection.",
    )
    create = b.call(
        sess,
        ts + 120,
        EC2,
        "CreateSecurityGroup",
        prod,
        "us-east-1",
        {
            "groupName": "public-web",
            "groupDescription": "web tier; 0.0.0.0/0 on 443 added by ALB",
            "vpcId": pool.vpc,
        },
        read_only=False,
    )
    b.label(
        "sg_create_description_mentions_world",
        None,
        [create],
        "A description naming 0.0.0.0/0 is not a rule.",
    )
    nacl_scenarios(b)


def nacl_scenarios(b: Book) -> None:
    """The deploy pipeline replaces a subnet's network ACL; a developer's attempt is refused."""
    org = b.org
    prod = org.prod.id
    pool = org.pools[(prod, "us-east-1")]
    ts = b.at(10, 14, 2, 51)
    ci = b.role(prod, "github-actions-deploy", "GitHubActions", ts, org.ci_ips[3], CLI_LINUX)
    acl = "acl-" + b.ids.hex(17)
    entry = {
        "networkAclId": acl,
        "ruleNumber": 100,
        "egress": False,
        "ruleAction": "allow",
        "aclProtocol": "6",
        "cidrBlock": "0.0.0.0/0",
        "portRange": {"from": 443, "to": 443},
        "icmpTypeCode": {},
    }
    steps: list[tuple[str, dict[str, Any], str | None]] = [
        ("CreateNetworkAcl", {"vpcId": pool.vpc}, None),
        ("CreateNetworkAclEntry", entry, None),
        ("ReplaceNetworkAclEntry", {**entry, "portRange": {"from": 80, "to": 443}}, None),
        (
            "ReplaceNetworkAclAssociation",
            {"associationId": "aclassoc-" + b.ids.hex(17), "networkAclId": acl},
            None,
        ),
        ("DeleteNetworkAclEntry", {"networkAclId": acl, "ruleNumber": 100, "egress": False}, None),
        ("DeleteNetworkAcl", {"networkAclId": acl}, None),
        (
            "CreateNetworkAclEntry",
            {**entry, "ruleNumber": 90, "ruleAction": "deny"},
            "Client.UnauthorizedOperation",
        ),
    ]
    b.story = "deploy_replaces_network_acl"  # six labelled calls of one pipeline run
    for i, (name, params, error) in enumerate(steps):
        sess = b.sso("liam.oconnor", prod, ts, console=False) if error else ci
        eid = b.call(sess, ts + i * 40, EC2, name, prod, "us-east-1", params, error=error, read_only=False)
        if error:
            b.label("nacl_refused_entry", None, [eid], "A refused NACL change fires nothing.")
        else:
            b.label(
                f"nacl_{name}",
                "network_acl_changed",
                [eid],
                f"{name} by the deploy pipeline.",
                not_ids=("security_group_open_to_world", "security_group_ingress_changed"),
            )
    b.story = ""
