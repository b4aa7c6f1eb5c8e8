/*
id: security_group_open_to_world
title: Security group opened to the internet
severity: high
attack: [T1562.007, T1133]
stratus: [aws.exfiltration.ec2-security-group-open-port-22-ingress]
description: >
  A successful AuthorizeSecurityGroupIngress whose rules grant a range with prefix length 0:
  0.0.0.0/0, ::/0 or any other address with /0 (anonymised logs show 208.236.235.254/0, which is
  the same whole internet). Every rule of the call counts (the second one can open it), in the
  ipPermissions form (ipRanges cidrIp, ipv6Ranges cidrIpv6) and in the older flat form (cidrIp).
  Only address ranges count: a rule description mentioning 0.0.0.0/0 does not. Egress rules,
  revocations and ModifySecurityGroupRules are out of scope. `open_ranges` lists the /0 ranges.
runbook: >
  1. Find the group (group_id), the ports it opened (fromPort/toPort in the record) and what is
     attached to it (aws ec2 describe-network-interfaces --filters Name=group-id,Values=<group_id>).
  2. Unless the group fronts a service meant to be public (a load balancer on 80/443), revoke the
     rule at once (aws ec2 revoke-security-group-ingress, or the securityGroupRuleId in
     responseElements) and confirm the change with the workload owner.
  3. For admin ports (22, 3389, databases) check the attached instances for logins from unknown
     addresses while the rule was open, and review the principal's other calls in the session.
schedule: 15m
dedup_key: [account_id, group_id, event_id]
tables: [cloudtrail]
*/
WITH {% include 'fragments/actor_records.sql' %},
ingress AS (
  SELECT
    {% include 'fragments/record_columns.sql' %},
    eventname AS event_name,
    json_extract_scalar(requestparameters, '$.groupId') AS group_id,
    json_extract_scalar(requestparameters, '$.groupName') AS group_name,
    json_extract(requestparameters, '$.ipPermissions.items') AS rules_json,
    json_extract_scalar(requestparameters, '$.cidrIp') AS flat_cidr,
    useragent AS user_agent
  FROM actor_records
  WHERE {{ window() }}
    AND eventname = 'AuthorizeSecurityGroupIngress'
    AND errorcode IS NULL
    {{ suppressions() }}
),
ranges AS (
  -- Every address range the call grants: cidrIp and cidrIpv6 of each range of each rule, plus the
  -- flat cidrIp. CloudTrail writes lists as {"items": [...]}; a non-list is read as a one-element list.
  SELECT *,
    flatten(transform(
      COALESCE(TRY_CAST(rules_json AS ARRAY(JSON)), ARRAY[rules_json]),
      perm -> concat(
        transform(
          COALESCE(TRY_CAST(json_extract(perm, '$.ipRanges.items') AS ARRAY(JSON)),
                   ARRAY[json_extract(perm, '$.ipRanges.items')]),
          r -> json_extract_scalar(r, '$.cidrIp')),
        transform(
          COALESCE(TRY_CAST(json_extract(perm, '$.ipv6Ranges.items') AS ARRAY(JSON)),
                   ARRAY[json_extract(perm, '$.ipv6Ranges.items')]),
          r -> json_extract_scalar(r, '$.cidrIpv6')))))
    || ARRAY[flat_cidr] AS granted_ranges
  FROM ingress
),
open_to_world AS (
  -- Prefix length 0 is the whole address space, whatever address precedes the slash.
  SELECT *, filter(granted_ranges, c -> regexp_like(trim(c), '/0+$')) AS open_cidrs
  FROM ranges
)
SELECT event_id, event_time, account_id, region, principal, source_ip, actor, actor_type, event_name, group_id, group_name,
       array_join(open_cidrs, ', ') AS open_ranges, user_agent
FROM open_to_world
WHERE cardinality(open_cidrs) > 0
