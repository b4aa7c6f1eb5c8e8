/*
id: log_delivery_gap
title: CloudTrail records stopped arriving from an account and region
severity: high
attack: [T1562.008]
description: >
  An account and region that had been logging steadily goes silent for longer than `gap_minutes`
  while the rest of the organization keeps logging: its trail was stopped, its delivery broke,
  or its files were removed before they could be read. Quiet regions legitimately spend hours
  without a single event, so a silence only counts after a steady baseline: in the
  `baseline_hours` before it, the account and region never went more than
  `baseline_max_silence_minutes` without a record. And it only counts when at least
  `min_other_sources` other account/regions delivered records after the silence had already
  passed `gap_minutes` (an organization-wide pause, or a pipeline that is merely behind, is not
  one account's gap). A silence still running at the end of the window is measured up to the
  latest record seen anywhere. The finding names the last record before the silence; its context
  holds when the silence began and ended (null while it lasts) and how long it was.
runbook: >
  1. Check the trail and the account: `aws cloudtrail get-trail-status` (IsLogging,
     LatestDeliveryError), recent StopLogging/UpdateTrail/PutEventSelectors calls
     (cloudtrail_tampering findings), and SCP or region opt-out changes in that account.
  2. Check the bucket: `trailguard validate-logs` over the silence (digests still list what
     CloudTrail delivered, so missing or deleted files show up as log_file_tampered findings),
     the bucket policy and KMS key policy, and S3 server access logs or data events for deletes.
  3. If the silence is unexplained, treat the account and region as unmonitored for that time:
     review GuardDuty findings and other telemetry (VPC flow logs, Config) for that period.
schedule: 1h
lookback_minutes: 480
dedup_key: [account_id, region]
tables: [cloudtrail]
parameters:
  gap_minutes: 120
  baseline_hours: 6
  baseline_max_silence_minutes: 45
  min_other_sources: 1
*/
WITH arrivals AS (
  -- DISTINCT: a record delivered twice is one record. No suppressions() here: removing records of
  -- a principal would carve silences out of steady logging; disable or tune the detection instead.
  SELECT DISTINCT
    eventid AS event_id,
    eventtime AS event_time,
    recipientaccountid AS account_id,
    awsregion AS region,
    CAST(to_unixtime(try(from_iso8601_timestamp(eventtime))) AS BIGINT) AS ts
  FROM {{ table('cloudtrail') }}
  WHERE {{ window() }}
    AND try(from_iso8601_timestamp(eventtime)) IS NOT NULL  -- a malformed time must not stop the query
    AND eventid IS NOT NULL
    AND recipientaccountid IS NOT NULL
    AND awsregion IS NOT NULL
),
timeline AS (
  SELECT *,
    lead(ts) OVER (PARTITION BY account_id, region ORDER BY ts, event_id) AS next_ts,
    lead(event_time) OVER (PARTITION BY account_id, region ORDER BY ts, event_id) AS next_time,
    ts - lag(ts) OVER (PARTITION BY account_id, region ORDER BY ts, event_id) AS silence_before
  FROM arrivals
),
steadiness AS (
  -- The longest silence of the place in the baseline before each record; the first record seen
  -- has no known silence before it and never counts as steady.
  SELECT *,
    max(coalesce(silence_before, {{ baseline_hours * 3600 + 1 }}))
      OVER (PARTITION BY account_id, region ORDER BY ts
            RANGE BETWEEN {{ baseline_hours * 3600 }} PRECEDING AND CURRENT ROW) AS longest_silence,
    max(ts) OVER () AS latest_anywhere
  FROM timeline
),
silences AS (
  SELECT *, coalesce(next_ts, latest_anywhere) AS resumed_ts
  FROM steadiness
  WHERE coalesce(next_ts, latest_anywhere) - ts > {{ gap_minutes * 60 }}
    AND longest_silence <= {{ baseline_max_silence_minutes * 60 }}
),
others AS (
  -- Other account/regions that delivered records once the silence had passed gap_minutes and
  -- before this one resumed (an organization resuming all at once is not one account's gap).
  SELECT s.event_id, s.account_id, s.region,
    count(DISTINCT concat(a.account_id, '/', a.region)) AS other_sources
  FROM silences s
  JOIN arrivals a
    ON a.ts > s.ts + {{ gap_minutes * 60 }}
   AND (a.ts < s.resumed_ts OR (s.next_ts IS NULL AND a.ts = s.resumed_ts))
   AND (a.account_id <> s.account_id OR a.region <> s.region)
  GROUP BY s.event_id, s.account_id, s.region
)
SELECT
  s.event_id,
  s.event_time,
  s.account_id,
  s.region,
  CAST(NULL AS VARCHAR) AS principal,
  s.event_time AS silence_started,
  s.next_time AS silence_ended,
  (s.resumed_ts - s.ts) / 60 AS silence_minutes,
  s.next_ts IS NULL AS ongoing,
  s.longest_silence / 60 AS longest_baseline_silence_minutes,
  o.other_sources
FROM silences s
JOIN others o
  ON o.event_id = s.event_id AND o.account_id = s.account_id AND o.region = s.region
WHERE o.other_sources >= {{ min_other_sources }}
