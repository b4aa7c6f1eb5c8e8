/*
id: root_account_usage
title: Root account used
severity: high
attack: [T1078.004]
description: >
  The account's root user signed in or made a call. Root has every permission and no guardrail;
  day-to-day work should never need it. Records the service made on root's behalf
  (invokedBy set) and service events are not root activity.
runbook: >
  Confirm with the account owner that root was used on purpose (break-glass, account closure,
  billing). If not, reset the root password, rotate or delete root access keys, check MFA, and
  review every call in the session.
schedule: 15m
dedup_key: [account_id, principal, event_id]
tables: [cloudtrail]
*/
WITH {% include 'fragments/actor_records.sql' %}
SELECT
  {% include 'fragments/record_columns.sql' %},
  eventsource AS event_source,
  eventname AS event_name,
  errorcode AS error_code,
  useragent AS user_agent
FROM actor_records
WHERE {{ window() }}
  AND useridentity.type = 'Root'
  AND useridentity.invokedby IS NULL
  AND (eventtype IS NULL OR eventtype <> 'AwsServiceEvent')
  {{ suppressions() }}
