/*
id: ec2_console_key_pushed
title: SSH key pushed to an instance (EC2 Instance Connect or serial console)
severity: medium
attack: [T1098.004, T1021.004]
stratus: [aws.lateral-movement.ec2-instance-connect, aws.lateral-movement.ec2-serial-console-send-ssh-public-key]
description: >
  A successful EC2 Instance Connect SendSSHPublicKey or SendSerialConsoleSSHPublicKey (a
  one-minute SSH key for an instance user: whoever calls it logs in without the instance's key
  pair), or EnableSerialConsoleAccess (the account-wide switch that allows serial console
  sessions, which bypass security groups). A principal's calls within `window_minutes` of each
  other are one finding. Teams that use Instance Connect every day suppress their roles.
runbook: >
  1. Which instances and OS users (instance_id, os_user), from where (source_ip)? Expected for an
     engineer on call; not for a CI role or an unknown address.
  2. If unexpected, check the instance's auth logs for the session, disable serial console access
     if it was just enabled (aws ec2 disable-serial-console-access) and review the caller.
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
  json_extract_scalar(requestparameters, '$.instanceOSUser') AS os_user,
  useragent AS user_agent
FROM actor_records
WHERE {{ window() }}
  AND ((eventsource = 'ec2-instance-connect.amazonaws.com'
        AND eventname IN ('SendSSHPublicKey', 'SendSerialConsoleSSHPublicKey'))
       OR (eventsource = 'ec2.amazonaws.com' AND eventname = 'EnableSerialConsoleAccess'))
  AND errorcode IS NULL
  AND {% include 'fragments/not_aws_service.sql' %}
  {{ suppressions() }}
