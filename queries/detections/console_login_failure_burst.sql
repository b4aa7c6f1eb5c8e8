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
WITH failures AS (
  -- DISTINCT: a record delivered twice (CloudTrail may) is one sign-in attempt, not two.
  SELECT DISTINCT
    eventid AS event_id,
    eventtime AS event_time,
    CAST(to_unixtime(from_iso8601_timestamp(eventtime)) AS BIGINT) AS ts,
    recipientaccountid AS account_id,
    awsregion AS region,
    useridentity.arn AS principal,
    useridentity.username AS user_name,
    sourceipaddress AS source_ip
  FROM {{ table('cloudtrail') }}
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
starts AS (
  -- A record starts a qualifying window when `threshold` records of its key fall in [ts, ts + window].
  SELECT *,
    count(*) OVER (PARTITION BY group_kind, group_value ORDER BY ts
                   RANGE BETWEEN CURRENT ROW AND {{ window_minutes * 60 }} FOLLOWING) AS in_window
  FROM keyed
),
covered AS (
  -- A record belongs to a burst when a qualifying window started at most `window_minutes` before it.
  SELECT *,
    max(CASE WHEN in_window >= {{ threshold }} THEN ts END)
      OVER (PARTITION BY group_kind, group_value ORDER BY ts
            RANGE BETWEEN {{ window_minutes * 60 }} PRECEDING AND CURRENT ROW) AS burst_start
  FROM starts
)
SELECT event_id, event_time, account_id, region, principal, source_ip, user_name, group_kind, group_value
FROM covered
WHERE burst_start IS NOT NULL
