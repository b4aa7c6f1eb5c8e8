/*
id: ssm_remote_command
title: Commands or shell sessions on instances through Systems Manager
severity: medium
attack: [T1651, T1021]
stratus: [aws.execution.ssm-send-command, aws.execution.ssm-start-session, aws.credential-access.ec2-steal-instance-credentials]
description: >
  A successful ssm:SendCommand (a document run on instances: AWS-RunShellScript and friends) or
  ssm:StartSession (an interactive shell or port forward) by an actor whose type is in
  `actor_types`: by default people and root, whatever credentials they hold (an IAM user's key,
  an Identity Center session, a role they chained into), because a person opening a shell on an
  instance is what an intruder with stolen credentials does too. Workloads (automation roles,
  instance credentials, CI) are not reported by default; add `workload` to see them. Runs that
  Systems Manager itself starts (State Manager, Maintenance Windows, Patch Manager: a service
  actor) are never reported, nor are documents in `routine_documents` (patching and inventory by
  default). `targets` lists the instances; `actor` names the person (see docs/actors.md). Every
  such call is reported, grouped: one finding per actor, account and call name for a stretch of
  work, listing all its records and instances; a gap of more than `window_minutes` starts a new
  finding (an operator's hour of sessions is one finding, not dozens; a finding never spans days).
runbook: >
  1. What ran where: document_name and targets; the command's parameters are hidden in
     CloudTrail, so read the output (aws ssm get-command-invocation, or the session's log in
     S3/CloudWatch if session logging is on).
  2. If the caller is not an operator expected to do this, treat the instances as compromised
     (credentials read from IMDS is the classic next step) and the caller's credentials too.
schedule: 15m
dedup_key: [account_id, actor, event_name]
group_by: [account_id, actor, event_name]
tables: [cloudtrail]
parameters:
  window_minutes: 60
  actor_types: [human, root]
  routine_documents: ['AWS-RunPatchBaseline', 'AWS-GatherSoftwareInventory', 'AWS-UpdateSSMAgent', 'AWS-ConfigureAWSPackage']
*/
WITH {% include 'fragments/actor_records.sql' %},
calls AS (
  SELECT
    {% include 'fragments/record_columns.sql' %},
    eventname AS event_name,
    coalesce(json_extract_scalar(requestparameters, '$.documentName'), 'SSM-SessionManagerRunShell') AS document_name,
    coalesce(json_format(json_extract(requestparameters, '$.instanceIds')),
             json_format(json_extract(requestparameters, '$.targets')),
             json_extract_scalar(requestparameters, '$.target')) AS targets,
    useragent AS user_agent
  FROM actor_records
  WHERE {{ window() }}
    AND eventsource = 'ssm.amazonaws.com'
    AND eventname IN ('SendCommand', 'StartSession')
    AND errorcode IS NULL
    AND actor_type IN {{ actor_types }}
    AND {% include 'fragments/not_aws_service.sql' %}
    {{ suppressions() }}
)
SELECT event_id, event_time, account_id, region, principal, source_ip, actor, actor_type, event_name, document_name,
       targets, user_agent
FROM calls
WHERE NOT {{ matches('document_name', routine_documents) }}
