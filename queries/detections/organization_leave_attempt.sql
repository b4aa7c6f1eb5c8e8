/*
id: organization_leave_attempt
title: Account tried to leave the organization
severity: high
attack: [T1562.001, T1666]
stratus: [aws.defense-evasion.organizations-leave]
description: >
  organizations:LeaveOrganization called by a member account: leaving the organization removes
  it from every SCP, the organization trail, delegated GuardDuty and Security Hub at once. Failed
  calls count (an SCP usually denies it, and the attempt is the signal). Legitimate departures are
  rare, planned events: suppress the account for the change window.
runbook: >
  1. Check whether the account is still in the organization (aws organizations
     list-accounts from the management account) and whether a departure was planned.
  2. If not planned, find who held the caller's credentials, add an SCP denying
     organizations:LeaveOrganization if it is missing, and review the caller's other calls: an
     attacker leaving the organization usually wants to escape its guardrails and logging.
schedule: 15m
dedup_key: [account_id, principal]
tables: [cloudtrail]
*/
WITH {% include 'fragments/actor_records.sql' %}
SELECT
  {% include 'fragments/record_columns.sql' %},
  eventname AS event_name,
  errorcode AS error_code,
  errormessage AS error_message,
  useragent AS user_agent
FROM actor_records
WHERE {{ window() }}
  AND eventsource = 'organizations.amazonaws.com'
  AND eventname = 'LeaveOrganization'
  {{ suppressions() }}
