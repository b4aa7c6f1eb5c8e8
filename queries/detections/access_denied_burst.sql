/*
id: access_denied_burst
title: Burst of access-denied errors from one principal
severity: medium
attack: [T1580, T1526, T1078.004]
description: >
  At least `threshold` calls refused with AccessDenied, AccessDeniedException, UnauthorizedOperation
  or Client.UnauthorizedOperation by one principal (userIdentity.arn) within any `window_minutes`
  window: typical of stolen credentials probing what they may do. The principal is the arn alone,
  so one arn calling in several accounts and regions is one principal, while two sessions of one
  role (two arns) are two. Records without an arn are not grouped. Reported are the refused calls
  that lie inside a qualifying window; other error codes and successful calls are not part of it.
  Only calls a person or a workload made count: refusals of calls an AWS service made on the
  principal's behalf (a service actor: invokedBy set, a service name such as sqs.amazonaws.com as
  the source address, an AWSService identity) and the console's own background calls (user agent
  `AWS Internal` or `aws-internal/...`) are not the principal probing (fragments/actor_direct.sql).
runbook: >
  1. Look at what the principal tried (event_name, event_source) and from where (source_ip,
     user_agent): an enumeration tool's pattern (many services, Describe/List/Get) or one
     misconfigured job retrying one call?
  2. If it is a workload, fix its permissions or its code and suppress the principal in
     trailguard.toml. Otherwise treat the credentials as compromised: for a role session revoke
     its sessions (IAM console "Revoke active sessions"), for a user deactivate its access keys
     (aws iam update-access-key --status Inactive), then review every successful call the
     principal made around the burst.
schedule: 15m
dedup_key: [principal]
group_by: [principal]
tables: [cloudtrail]
parameters:
  threshold: 20
  window_minutes: 60
*/
{%- set burst_source = 'denied' %}{% set burst_key = ['principal'] %}
WITH {% include 'fragments/actor_records.sql' %},
denied AS (
  -- DISTINCT: a record delivered twice (CloudTrail may) is one call, not two.
  SELECT DISTINCT
    {% include 'fragments/burst_record_columns.sql' %}
  FROM actor_records
  WHERE {{ window() }}
    AND errorcode IN ('AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'Client.UnauthorizedOperation')
    AND useridentity.arn IS NOT NULL
    AND useridentity.arn <> ''
    AND {% include 'fragments/not_aws_service.sql' %}
    AND NOT COALESCE(useragent = 'AWS Internal' OR lower(useragent) LIKE 'aws-internal%', FALSE)
    {{ suppressions() }}
),
{% include 'fragments/burst_window.sql' %}
SELECT event_id, event_time, account_id, region, principal, source_ip, actor, actor_type, event_source, event_name, error_code, user_agent
FROM covered
WHERE burst_start IS NOT NULL
