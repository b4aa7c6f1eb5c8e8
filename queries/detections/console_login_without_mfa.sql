/*
id: console_login_without_mfa
title: Console sign-in without MFA
severity: high
attack: [T1078.004]
stratus: [aws.initial-access.console-login-without-mfa]
description: >
  An IAM user or the root user signed in to the AWS console with a password alone: the sign-in
  succeeded and CloudTrail recorded MFAUsed = No. Whoever holds that password holds the
  account. Federated and Identity Center sessions (AssumedRole and others) are outside: their
  MFA is enforced by the identity provider, not recorded here.
runbook: >
  Ask the user (or, for root, the account owner) whether they signed in from this address. If
  not, reset the password, revoke the user's sessions and access keys, and review every call
  made from the same address afterwards. Either way, enable an MFA device on the identity and
  consider an SCP or IAM policy that denies actions when aws:MultiFactorAuthPresent is false.
schedule: 15m
dedup_key: [account_id, principal, source_ip]
tables: [cloudtrail]
*/
WITH {% include 'fragments/actor_records.sql' %}
SELECT
  {% include 'fragments/record_columns.sql' %},
  eventname AS event_name,
  useridentity.type AS identity_type,
  useridentity.username AS user_name,
  json_extract_scalar(additionaleventdata, '$.LoginTo') AS login_to,
  useragent AS user_agent
FROM actor_records
WHERE {{ window() }}
  AND eventname = 'ConsoleLogin'
  AND useridentity.type IN ('IAMUser', 'Root')
  AND json_extract_scalar(responseelements, '$.ConsoleLogin') = 'Success'
  AND json_extract_scalar(additionaleventdata, '$.MFAUsed') = 'No'
  {{ suppressions() }}
