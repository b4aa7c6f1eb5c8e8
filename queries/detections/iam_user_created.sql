/*
id: iam_user_created
title: IAM user created
severity: high
attack: [T1136.003]
stratus: [aws.persistence.iam-create-admin-user]
description: >
  A CreateUser call succeeded (no errorCode). A new long-lived identity is a classic
  persistence step: it survives the rotation of the credentials that created it. Failed
  attempts are not reported here.
runbook: >
  Check the new user against a change ticket or the infrastructure-as-code pipeline that
  normally creates users. If nobody expected it, delete the user's access keys and login
  profile, detach its policies, and review the creator's session (principal, source address)
  for other persistence: access keys, policies, roles.
schedule: 15m
dedup_key: [account_id, target_user]
tables: [cloudtrail]
*/
WITH {% include 'fragments/actor_records.sql' %}
SELECT
  {% include 'fragments/record_columns.sql' %},
  eventsource AS event_source,
  eventname AS event_name,
  json_extract_scalar(requestparameters, '$.userName') AS target_user,
  json_extract_scalar(responseelements, '$.user.arn') AS target_user_arn,
  useragent AS user_agent
FROM actor_records
WHERE {{ window() }}
  AND eventname = 'CreateUser'
  AND errorcode IS NULL
  {{ suppressions() }}
