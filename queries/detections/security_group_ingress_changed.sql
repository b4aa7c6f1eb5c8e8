/*
id: security_group_ingress_changed
title: Security group ingress rule added
severity: medium
attack: [T1562.007]
stratus: [aws.exfiltration.ec2-security-group-open-port-22-ingress]
description: >
  A successful AuthorizeSecurityGroupIngress: someone opened a security group to new inbound
  traffic. Egress rules, revocations and ModifySecurityGroupRules are not reported here, and
  failed calls changed nothing. security_group_open_to_world reports the subset that opens the
  group to the whole internet.
runbook: >
  1. Read the new rules in the record (requestParameters.ipPermissions, or cidrIp/fromPort/toPort
     for the flat form) and find the group (group_id) and what is attached to it
     (aws ec2 describe-network-interfaces --filters Name=group-id,Values=<group_id>).
  2. Confirm with the owner of the VPC/workload that the principal was expected to change it
     (change ticket, infrastructure pipeline).
  3. If not expected, revoke the rule (aws ec2 revoke-security-group-ingress with the
     securityGroupRuleId from responseElements) and review the principal's other calls.
schedule: 15m
dedup_key: [account_id, group_id, event_id]
tables: [cloudtrail]
*/
WITH {% include 'fragments/actor_records.sql' %}
SELECT
  {% include 'fragments/record_columns.sql' %},
  eventname AS event_name,
  json_extract_scalar(requestparameters, '$.groupId') AS group_id,
  json_extract_scalar(requestparameters, '$.groupName') AS group_name,
  useragent AS user_agent
FROM actor_records
WHERE {{ window() }}
  AND eventname = 'AuthorizeSecurityGroupIngress'
  AND errorcode IS NULL
  {{ suppressions() }}
