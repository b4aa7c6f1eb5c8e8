/*
id: iam_access_key_created
title: IAM access key created
severity: high
attack: [T1098.001]
stratus: [aws.persistence.iam-backdoor-user, aws.persistence.iam-create-admin-user]
description: >
  A CreateAccessKey call succeeded (no errorCode). A new access key gives API access that
  outlives the session that created it; attackers add one to an existing or new user to keep
  a foothold. Without requestParameters.userName the key is for the caller itself.
runbook: >
  Confirm the key's owner requested it. If not, deactivate the key (iam update-access-key
  --status Inactive), look for its use in CloudTrail (userIdentity.accessKeyId), and review the
  creator's session for other persistence (users, policies, login profiles).
schedule: 15m
dedup_key: [account_id, principal, target_user]
tables: [cloudtrail]
*/
WITH {% include 'fragments/actor_records.sql' %}
SELECT
  {% include 'fragments/record_columns.sql' %},
  eventsource AS event_source,
  eventname AS event_name,
  coalesce(json_extract_scalar(requestparameters, '$.userName'),
           json_extract_scalar(responseelements, '$.accessKey.userName'),
           useridentity.username) AS target_user,
  json_extract_scalar(responseelements, '$.accessKey.accessKeyId') AS access_key_id,
  useragent AS user_agent
FROM actor_records
WHERE {{ window() }}
  AND eventname = 'CreateAccessKey'
  AND errorcode IS NULL
  {{ suppressions() }}
