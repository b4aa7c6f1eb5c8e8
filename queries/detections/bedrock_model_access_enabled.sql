/*
id: bedrock_model_access_enabled
title: Bedrock foundation model access enabled
severity: medium
attack: [T1496]
stratus: [aws.impact.bedrock-invoke-model]
description: >
  A successful call that turns on access to a Bedrock foundation model: the use-case form
  (PutUseCaseForModelAccess), a Marketplace agreement (CreateFoundationModelAgreement) or the
  entitlement itself (PutFoundationModelEntitlement). LLM-jacking starts here: with stolen
  credentials an attacker enables the most expensive models and resells access. Enabling models
  is rare and deliberate; the ML platform team's role is suppressed once confirmed.
runbook: >
  1. Ask whether anyone in the account requested access to model_id; check the account's Bedrock
     usage (CloudWatch Invocations metrics) and cost explorer for the period.
  2. If not expected, remove the principal's bedrock permissions, deny bedrock:* by SCP in
     accounts that do not use it, and review the principal's session.
schedule: 15m
dedup_key: [account_id, principal, model_id]
tables: [cloudtrail]
*/
WITH {% include 'fragments/actor_records.sql' %}
SELECT
  {% include 'fragments/record_columns.sql' %},
  eventname AS event_name,
  json_extract_scalar(requestparameters, '$.modelId') AS model_id,
  useragent AS user_agent
FROM actor_records
WHERE {{ window() }}
  AND eventsource = 'bedrock.amazonaws.com'
  AND eventname IN ('PutUseCaseForModelAccess', 'CreateFoundationModelAgreement', 'PutFoundationModelEntitlement')
  AND errorcode IS NULL
  AND {% include 'fragments/not_aws_service.sql' %}
  {{ suppressions() }}
