/*
id: instance_credentials_exfiltrated
title: EC2 instance credentials used from an address that also serves another identity
severity: high
attack: [T1552.005, T1078.004]
stratus: [aws.credential-access.ec2-steal-instance-credentials]
description: >
  A call made with an EC2 instance profile's credentials (userIdentity.sessionContext.
  ec2RoleDelivery set) from a public address that, within the scanned window, also made calls as
  a different, non-instance identity (an IAM user, another role's session): the instance's
  credentials were copied off the instance (IMDS, SSRF, SendCommand) and are used from the
  attacker's own machine, next to their other credentials. CloudTrail does not say which address
  an instance owns, so this is what it can show; GuardDuty's
  UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration covers the rest. Calls through a VPC
  endpoint and service addresses are left out. Addresses shared on purpose (a NAT gateway used
  by both instances and people with keys) go in `shared_egress_ips`. Calls of one session within
  `window_minutes` of each other are one finding; `also_used_by` lists the other identities.
runbook: >
  1. Identify the instance (the session name is its id) and the other identities that used the
     same address (also_used_by): is it a known bastion or NAT?
  2. If not, the role's credentials are stolen: revoke the role's sessions issued before now
     (IAM "Revoke active sessions"), investigate the instance (IMDSv2 enforced? SSRF? who ran
     SendCommand on it?) and review what the session did.
schedule: 15m
dedup_key: [principal, source_ip]
group_by: [principal]
tables: [cloudtrail]
parameters:
  window_minutes: 60
  shared_egress_ips: []
*/
WITH {% include 'fragments/actor_records.sql' %},
calls AS (
  SELECT
    {% include 'fragments/record_columns.sql' %},
    eventsource AS event_source,
    eventname AS event_name,
    useridentity.type AS identity_type,
    useridentity.sessioncontext.ec2roledelivery AS ec2_role_delivery,
    useragent AS user_agent
  FROM actor_records
  WHERE {{ window() }}
    AND regexp_like(sourceipaddress, '^[0-9a-fA-F:.]+$')
    AND vpcendpointid IS NULL
    AND useridentity.arn IS NOT NULL
    AND NOT {{ matches('sourceipaddress', shared_egress_ips) }}
    AND {% include 'fragments/not_aws_service.sql' %}
    {{ suppressions() }}
),
others AS (
  SELECT source_ip, array_agg(DISTINCT principal) AS also_used_by
  FROM calls
  WHERE ec2_role_delivery IS NULL
    AND identity_type IN ('IAMUser', 'AssumedRole', 'FederatedUser', 'Root')
  GROUP BY source_ip
)
SELECT c.event_id, c.event_time, c.account_id, c.region, c.principal, c.source_ip, c.event_source,
       c.event_name, o.also_used_by, c.user_agent
FROM calls c
JOIN others o ON o.source_ip = c.source_ip
WHERE c.ec2_role_delivery IS NOT NULL
