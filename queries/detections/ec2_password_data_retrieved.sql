/*
id: ec2_password_data_retrieved
title: EC2 Windows administrator password data requested
severity: medium
attack: [T1552.005, T1555]
stratus: [aws.credential-access.ec2-get-password-data]
description: >
  ec2:GetPasswordData, which returns the encrypted local Administrator password of a Windows
  instance (readable with the key pair's private key). Failed calls count: an attacker tries it
  across many instances and most attempts are refused. A principal's calls within
  `window_minutes` of each other are one finding. People who manage Windows fleets by hand are
  tuned with a suppression; calls made by AWS services (invokedBy: Systems Manager, Fleet
  Manager) are not reported.
runbook: >
  1. How many instances (instance_id) and did any call succeed (error_code empty)? A refused
     sweep over many instances is reconnaissance with stolen credentials.
  2. For every successful call, rotate that instance's Administrator password and check RDP
     sign-ins to it; review the principal's session and revoke it if it is not a known admin.
schedule: 15m
dedup_key: [principal]
group_by: [principal]
tables: [cloudtrail]
parameters:
  window_minutes: 60
*/
WITH {% include 'fragments/actor_records.sql' %}
SELECT
  {% include 'fragments/record_columns.sql' %},
  eventname AS event_name,
  json_extract_scalar(requestparameters, '$.instanceId') AS instance_id,
  errorcode AS error_code,
  useragent AS user_agent
FROM actor_records
WHERE {{ window() }}
  AND eventsource = 'ec2.amazonaws.com'
  AND eventname = 'GetPasswordData'
  AND {% include 'fragments/not_aws_service.sql' %}
  {{ suppressions() }}
