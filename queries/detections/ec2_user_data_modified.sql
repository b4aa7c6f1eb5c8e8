/*
id: ec2_user_data_modified
title: EC2 instance user data replaced
severity: high
attack: [T1059.009]
stratus: [aws.execution.ec2-user-data]
description: >
  A successful ModifyInstanceAttribute that sets an instance's userData. User data can only be
  changed while the instance is stopped, and cloud-init runs it again (as root) at the next start
  when it is written as a multipart script: the classic stop / modify / start way to run code on
  an instance without SSH or SSM. Launch templates and new instances are not reported; changes
  AWS services make (invokedBy) neither.
runbook: >
  1. Read the instance's new user data (aws ec2 describe-instance-attribute --attribute userData,
     base64) and compare with its launch template.
  2. If unexpected, keep the instance stopped (or isolate it), restore the user data, and review
     the caller's session (StopInstances / StartInstances around this call).
schedule: 15m
dedup_key: [account_id, instance_id, principal]
tables: [cloudtrail]
*/
WITH {% include 'fragments/actor_records.sql' %}
SELECT
  {% include 'fragments/record_columns.sql' %},
  eventname AS event_name,
  json_extract_scalar(requestparameters, '$.instanceId') AS instance_id,
  useragent AS user_agent
FROM actor_records
WHERE {{ window() }}
  AND eventsource = 'ec2.amazonaws.com'
  AND eventname = 'ModifyInstanceAttribute'
  AND errorcode IS NULL
  AND (json_extract(requestparameters, '$.userData') IS NOT NULL
       OR json_extract_scalar(requestparameters, '$.attribute') = 'userData')
  AND {% include 'fragments/not_aws_service.sql' %}
  {{ suppressions() }}
