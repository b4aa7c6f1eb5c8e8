/*
id: ec2_user_data_read_burst
title: Burst of EC2 user data reads by one principal
severity: medium
attack: [T1552.005, T1580]
stratus: [aws.discovery.ec2-download-user-data]
description: >
  One principal (userIdentity.arn) calling DescribeInstanceAttribute for userData at least
  `threshold` times within any `window_minutes` window: user data often holds bootstrap secrets,
  and reading it across instances is harvesting them. Refused calls count (an attacker sweeps
  and most calls fail). A person viewing one instance's user data in the console stays under the
  threshold. Reported are the reads inside a qualifying window.
runbook: >
  1. Which instances (instance_id) and did reads succeed (error_code empty)?
  2. For instances whose user data was read, rotate any secret it contains and move secrets to
     Secrets Manager; review how the principal got its credentials.
schedule: 15m
dedup_key: [principal]
group_by: [principal]
tables: [cloudtrail]
parameters:
  threshold: 10
  window_minutes: 10
*/
{%- set burst_source = 'reads' %}{% set burst_key = ['principal'] %}
WITH {% include 'fragments/actor_records.sql' %},
reads AS (
  SELECT DISTINCT
    {% include 'fragments/burst_record_columns.sql' %},
    json_extract_scalar(requestparameters, '$.instanceId') AS instance_id
  FROM actor_records
  WHERE {{ window() }}
    AND eventsource = 'ec2.amazonaws.com'
    AND eventname = 'DescribeInstanceAttribute'
    AND json_extract_scalar(requestparameters, '$.attribute') = 'userData'
    AND useridentity.arn IS NOT NULL
    AND {% include 'fragments/not_aws_service.sql' %}
    {{ suppressions() }}
),
{% include 'fragments/burst_window.sql' %}
SELECT event_id, event_time, account_id, region, principal, source_ip, actor, actor_type, event_name, instance_id, error_code, user_agent
FROM covered
WHERE burst_start IS NOT NULL
