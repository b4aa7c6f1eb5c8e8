/*
id: console_login_failure_burst
title: Burst of failed console sign-ins
severity: medium
attack: [T1110.001, T1110.003]
description: >
  At least `threshold` failed ConsoleLogin records within any `window_minutes` window, either from
  one source address (password spraying across users, accounts and regions) or, separately,
  against one user name (guessing one user's password from anywhere). Records whose user name
  CloudTrail hides (HIDDEN_DUE_TO_SECURITY_REASONS) are grouped by address only.
runbook: >
  Check whether the address belongs to the organization (VPN, office egress). If not, block it,
  confirm the targeted users have MFA, and look for a successful ConsoleLogin from the same
  address or user shortly after the burst.
schedule: 15m
dedup_key: [group_kind, group_value]
group_by: [group_kind, group_value]
tables: [cloudtrail]
parameters:
  threshold: 5
  window_minutes: 10
*/
{%- set burst_source = 'keyed' %}{% set burst_key = ['group_kind', 'group_value'] %}
WITH {% include 'fragments/actor_records.sql' %},
failures AS (
  -- DISTINCT: a record delivered twice (CloudTrail may) is one sign-in attempt, not two.
  SELECT DISTINCT
    eventid AS event_id,
    eventtime AS event_time,
    CAST(to_unixtime(try(from_iso8601_timestamp(eventtime))) AS BIGINT) AS ts,
    recipientaccountid AS account_id,
    awsregion AS region,
    useridentity.arn AS principal,
    useridentity.username AS user_name,
    sourceipaddress AS source_ip,
    actor,
    actor_type
  FROM actor_records
  WHERE {{ window() }}
    AND eventname = 'ConsoleLogin'
    AND json_extract_scalar(responseelements, '$.ConsoleLogin') = 'Failure'
    {{ suppressions() }}
),
keyed AS (
  SELECT 'source_ip' AS group_kind, source_ip AS group_value, * FROM failures
  WHERE source_ip IS NOT NULL
  UNION ALL
  SELECT 'user_name' AS group_kind, user_name AS group_value, * FROM failures
  WHERE user_name IS NOT NULL AND user_name <> 'HIDDEN_DUE_TO_SECURITY_REASONS'
),
{% include 'fragments/burst_window.sql' %}
SELECT event_id, event_time, account_id, region, principal, source_ip, actor, actor_type, user_name, group_kind, group_value
FROM covered
WHERE burst_start IS NOT NULL
