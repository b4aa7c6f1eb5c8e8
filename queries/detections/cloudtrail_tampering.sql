/*
id: cloudtrail_tampering
title: CloudTrail logging tampered with
severity: high
attack: [T1562.008]
stratus: [aws.defense-evasion.cloudtrail-stop, aws.defense-evasion.cloudtrail-delete, aws.defense-evasion.cloudtrail-event-selectors]
description: >
  A call to CloudTrail (eventSource cloudtrail.amazonaws.com) that stops a trail
  (StopLogging), deletes it (DeleteTrail), or changes where or what it logs (UpdateTrail,
  PutEventSelectors). Failed calls are reported too: an attempt to blind the audit log is
  itself the signal, whether or not the caller had the permission.
runbook: >
  Check the trail (trail_name) right away: aws cloudtrail get-trail-status and
  get-event-selectors. Restart logging or restore the selectors / destination if they changed.
  Then treat the caller as compromised until shown otherwise: review its session, its other
  calls just before and after, and what happened while logging was off (org trail, other
  regions, GuardDuty).
schedule: 15m
dedup_key: [account_id, region, event_name, trail_name, principal]
tables: [cloudtrail]
*/
WITH {% include 'fragments/actor_records.sql' %}
SELECT
  {% include 'fragments/record_columns.sql' %},
  eventname AS event_name,
  coalesce(json_extract_scalar(requestparameters, '$.name'),
           json_extract_scalar(requestparameters, '$.trailName')) AS trail_name,
  errorcode AS error_code,
  errormessage AS error_message,
  requestparameters AS request_parameters,
  useragent AS user_agent
FROM actor_records
WHERE {{ window() }}
  AND eventsource = 'cloudtrail.amazonaws.com'
  AND eventname IN ('StopLogging', 'DeleteTrail', 'UpdateTrail', 'PutEventSelectors')
  {{ suppressions() }}
