/*
id: ec2_unusual_instance_type
title: GPU or other unusual EC2 instance type launched
severity: medium
attack: [T1496.001, T1578.002]
stratus: [aws.execution.ec2-launch-unusual-instances]
description: >
  RunInstances for an instance type matching `instance_types` (`*` wildcards; GPU and
  accelerator families by default: p*, g*, inf*, trn*, dl*, vt1, and the largest x2/u- memory
  sizes), the usual start of cryptomining with stolen credentials. Failed calls count: the
  attempt is the signal, and attackers hit quotas and permission errors first. Launches AWS
  services make (Auto Scaling, EMR, SageMaker: invokedBy set) are not reported; teams that run
  GPU workloads by hand suppress their roles or narrow the list.
runbook: >
  1. How many instances (max_count), of what type, in which region, and did it succeed
     (error_code empty)? A region you never use is a strong signal.
  2. If unexpected, terminate the instances, look for the key pair / security group created with
     them, and treat the caller's credentials as stolen.
schedule: 15m
dedup_key: [account_id, region, principal, instance_type]
tables: [cloudtrail]
parameters:
  instance_types: ['p2.*', 'p3.*', 'p3dn.*', 'p4d.*', 'p4de.*', 'p5.*', 'p5e.*', 'p5en.*', 'g2.*', 'g3.*', 'g3s.*', 'g4dn.*', 'g4ad.*', 'g5.*', 'g5g.*', 'g6.*', 'g6e.*', 'gr6.*', 'inf1.*', 'inf2.*', 'trn1.*', 'trn1n.*', 'trn2.*', 'dl1.*', 'dl2q.*', 'vt1.*', 'x2iedn.32xlarge', 'u-*']
*/
WITH {% include 'fragments/actor_records.sql' %},
launches AS (
  SELECT
    {% include 'fragments/record_columns.sql' %},
    eventname AS event_name,
    json_extract_scalar(requestparameters, '$.instanceType') AS instance_type,
    json_extract_scalar(requestparameters, '$.instancesSet.items[0].maxCount') AS max_count,
    errorcode AS error_code,
    useragent AS user_agent
  FROM actor_records
  WHERE {{ window() }}
    AND eventsource = 'ec2.amazonaws.com'
    AND eventname = 'RunInstances'
    AND {% include 'fragments/not_aws_service.sql' %}
    {{ suppressions() }}
)
SELECT event_id, event_time, account_id, region, principal, source_ip, actor, actor_type, event_name, instance_type,
       max_count, error_code, user_agent
FROM launches
WHERE {{ matches('instance_type', instance_types) }}
