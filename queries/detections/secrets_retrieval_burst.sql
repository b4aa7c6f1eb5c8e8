/*
id: secrets_retrieval_burst
title: Burst of secret and SecureString parameter retrieval by one principal
severity: high
attack: [T1555.006, T1552]
stratus: [aws.credential-access.secretsmanager-retrieve-secrets, aws.credential-access.secretsmanager-batch-retrieve-secrets, aws.credential-access.ssm-retrieve-securestring-parameters]
description: >
  One principal (userIdentity.arn) retrieving at least `threshold` distinct secrets within any
  `window_minutes` window: Secrets Manager GetSecretValue (one secret) and BatchGetSecretValue
  (each id of secretIdList), SSM GetParameter / GetParameters / GetParametersByPath with
  withDecryption true (each name; a path counts once). A BatchGetSecretValue that selects by
  filters instead of ids returns every matching secret, unknown to CloudTrail: it counts as
  `filter_batch_weight` secrets. Each secret counts once per principal, at its first retrieval in
  the scanned window, so a workload re-reading its own few secrets never adds up. Failed calls,
  plain (non-decrypted) parameters and calls AWS services make (invokedBy: ECS, Lambda
  extensions) are not counted. Reported are the retrievals inside a qualifying window.
runbook: >
  1. Which secrets (secret) and from where (source_ip, user_agent)? A deployment tool reading a
     whole environment's configuration looks like this; suppress its role once confirmed.
  2. Otherwise treat every retrieved secret as disclosed: rotate them, starting with database and
     third-party credentials, and find how the principal got its credentials.
schedule: 15m
dedup_key: [principal]
group_by: [principal]
tables: [cloudtrail]
parameters:
  threshold: 10
  window_minutes: 10
  filter_batch_weight: 10
*/
{%- set burst_source = 'first_reads' %}{% set burst_key = ['principal'] %}
WITH {% include 'fragments/actor_records.sql' %},
calls AS (
  SELECT
    {% include 'fragments/burst_record_columns.sql' %},
    requestparameters AS request_parameters
  FROM actor_records
  WHERE {{ window() }}
    AND ((eventsource = 'secretsmanager.amazonaws.com' AND eventname IN ('GetSecretValue', 'BatchGetSecretValue'))
         OR (eventsource = 'ssm.amazonaws.com'
             AND eventname IN ('GetParameter', 'GetParameters', 'GetParametersByPath')
             AND lower(json_extract_scalar(requestparameters, '$.withDecryption')) = 'true'))
    AND errorcode IS NULL
    AND useridentity.arn IS NOT NULL
    AND {% include 'fragments/not_aws_service.sql' %}
    {{ suppressions() }}
),
items AS (
  -- One row per secret the call asked for.
  SELECT calls.*, secret
  FROM calls
  CROSS JOIN UNNEST(
    CASE
      WHEN event_name = 'GetSecretValue'
        THEN ARRAY[json_extract_scalar(request_parameters, '$.secretId')]
      WHEN event_name = 'BatchGetSecretValue' AND json_extract(request_parameters, '$.secretIdList') IS NOT NULL
        THEN TRY_CAST(json_extract(request_parameters, '$.secretIdList') AS ARRAY(VARCHAR))
      WHEN event_name = 'BatchGetSecretValue'
        THEN transform(sequence(1, {{ filter_batch_weight }}), n -> concat('filter#', event_id, '#', CAST(n AS VARCHAR)))
      WHEN event_name = 'GetParameters'
        THEN TRY_CAST(json_extract(request_parameters, '$.names') AS ARRAY(VARCHAR))
      WHEN event_name = 'GetParametersByPath'
        THEN ARRAY[concat(json_extract_scalar(request_parameters, '$.path'), '/*')]
      ELSE ARRAY[json_extract_scalar(request_parameters, '$.name')]
    END) AS t(secret)
),
first_reads AS (
  SELECT * FROM (
    SELECT *, row_number() OVER (PARTITION BY principal, secret ORDER BY ts, event_id) AS nth
    FROM items
    WHERE secret IS NOT NULL
  ) WHERE nth = 1
),
{% include 'fragments/burst_window.sql' %}
SELECT event_id, event_time, account_id, region, principal, source_ip, actor, actor_type, event_source, event_name, secret, user_agent
FROM covered
WHERE burst_start IS NOT NULL
