/*
id: instance_credentials_exfiltrated
title: EC2 instance credentials used from an address that also serves another identity
severity: high
attack: [T1552.005, T1078.004]
stratus: [aws.credential-access.ec2-steal-instance-credentials]
description: >
  EC2 instance credentials (a role session with userIdentity.sessionContext.ec2RoleDelivery set,
  or named after its instance, i-...) used where the instance is not, within `link_minutes` of
  the evidence: (1) from a public address that a different identity which is not instance
  credentials (an IAM user, a person's session, another role's session) also used within
  `link_minutes`: the credentials were copied off the instance (IMDS, SSRF, SendCommand) and are
  used from the attacker's own machine, next to their other credentials; or (2) from an address
  other than the instance's while the same credentials were also used from another address within
  `link_minutes`. The instance's address is the one its own agents use (Systems Manager's
  ssmmessages/ec2messages channel calls, which are never reported themselves); when no agent
  call shows it, every address of the pair is reported and the finding lists them
  (source_ips). The evidence must lie within `link_minutes`, so a back-fill never links calls
  weeks apart. CloudTrail does not say which address an instance owns, so this is what it can
  show; GuardDuty's UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration covers the rest.
  Calls through a VPC endpoint and calls with an AWS service's address or made by a service are
  left out. Addresses shared on purpose (a NAT gateway used by both instances and people with
  keys) go in `shared_egress_ips`. Calls of one session within `window_minutes` of each other
  are one finding; `also_used_by` lists the other identities, `other_addresses` the addresses
  the same credentials were used from.
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
  link_minutes: 60
  shared_egress_ips: []
*/
WITH {% include 'fragments/actor_records.sql' %},
calls AS (
  SELECT
    {% include 'fragments/record_columns.sql' %},
    CAST(to_unixtime(try(from_iso8601_timestamp(eventtime))) AS BIGINT) AS ts,
    eventsource AS event_source,
    eventname AS event_name,
    -- Instance credentials: the only role sessions fragments/actor_direct.sql calls workloads.
    (useridentity.type = 'AssumedRole' AND direct_actor_type = 'workload') AS instance_credentials,
    eventsource IN ('ssmmessages.amazonaws.com', 'ec2messages.amazonaws.com') AS agent_call,
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
suspect AS (
  SELECT * FROM calls WHERE instance_credentials AND NOT agent_call
),
neighbours AS (
  -- (1) another identity, not instance credentials, on the same address within link_minutes.
  SELECT c.event_id, o.principal AS other_principal, CAST(NULL AS VARCHAR) AS other_address
  FROM suspect c
  JOIN calls o
    ON o.source_ip = c.source_ip AND o.principal <> c.principal AND NOT o.instance_credentials
   AND o.ts BETWEEN c.ts - {{ link_minutes * 60 }} AND c.ts + {{ link_minutes * 60 }}
),
home AS (
  -- The instance's own address: where its agents talked to Systems Manager, per session.
  SELECT DISTINCT principal, source_ip, ts FROM calls WHERE instance_credentials AND agent_call
),
elsewhere AS (
  -- (2) the same credentials used from another address within link_minutes, and this call's
  -- address is not where the instance's agents were within link_minutes.
  SELECT c.event_id, CAST(NULL AS VARCHAR) AS other_principal, o.source_ip AS other_address
  FROM suspect c
  JOIN calls o
    ON o.principal = c.principal AND o.source_ip <> c.source_ip AND o.instance_credentials
   AND o.ts BETWEEN c.ts - {{ link_minutes * 60 }} AND c.ts + {{ link_minutes * 60 }}
  LEFT JOIN home h
    ON h.principal = c.principal AND h.source_ip = c.source_ip
   AND h.ts BETWEEN c.ts - {{ link_minutes * 60 }} AND c.ts + {{ link_minutes * 60 }}
  WHERE h.principal IS NULL
),
evidence AS (
  SELECT event_id,
    array_sort(filter(array_agg(DISTINCT other_principal), v -> v IS NOT NULL)) AS also_used_by,
    array_sort(filter(array_agg(DISTINCT other_address), v -> v IS NOT NULL)) AS other_addresses
  FROM (SELECT * FROM neighbours UNION ALL SELECT * FROM elsewhere) AS found
  GROUP BY event_id
)
SELECT c.event_id, c.event_time, c.account_id, c.region, c.principal, c.source_ip, c.actor, c.actor_type,
       c.event_source, c.event_name, e.also_used_by, e.other_addresses, c.user_agent
FROM suspect c
JOIN evidence e ON e.event_id = c.event_id
