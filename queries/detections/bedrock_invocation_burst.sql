/*
id: bedrock_invocation_burst
title: Burst of Bedrock model invocations by one principal
severity: medium
attack: [T1496]
stratus: []
description: >
  One principal (userIdentity.arn) invoking Bedrock models (InvokeModel,
  InvokeModelWithResponseStream, Converse, ConverseStream) at least `threshold` times within any
  `window_minutes` window, successful or not: LLM-jacking shows as a principal that never used
  Bedrock suddenly calling it at volume (refused calls are the attacker probing which models are
  enabled). Applications that use Bedrock by design are suppressed by role. Reported are the
  calls inside a qualifying window.
runbook: >
  1. Which models (model_id), from where (source_ip, user_agent)? An application role from its
     usual network, or an access key from a residential or hosting address?
  2. If not expected, disable the credentials, check the Bedrock bill and model invocation
     logging (if enabled) for the prompts, and remove the model access enabled for it.
schedule: 15m
dedup_key: [principal]
group_by: [principal]
tables: [cloudtrail]
parameters:
  threshold: 50
  window_minutes: 60
*/
{%- set burst_source = 'invocations' %}{% set burst_key = ['principal'] %}
WITH {% include 'fragments/actor_records.sql' %},
invocations AS (
  SELECT DISTINCT
    {% include 'fragments/burst_record_columns.sql' %},
    json_extract_scalar(requestparameters, '$.modelId') AS model_id
  FROM actor_records
  WHERE {{ window() }}
    AND eventsource = 'bedrock.amazonaws.com'
    AND eventname IN ('InvokeModel', 'InvokeModelWithResponseStream', 'Converse', 'ConverseStream')
    AND useridentity.arn IS NOT NULL
    AND {% include 'fragments/not_aws_service.sql' %}
    {{ suppressions() }}
),
{% include 'fragments/burst_window.sql' %}
SELECT event_id, event_time, account_id, region, principal, source_ip, actor, actor_type, event_name, model_id, error_code, user_agent
FROM covered
WHERE burst_start IS NOT NULL
