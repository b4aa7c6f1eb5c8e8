/*
id: network_logging_deleted
title: VPC flow logs or Route 53 resolver query logging deleted
severity: high
attack: [T1562.008]
stratus: [aws.defense-evasion.vpc-remove-flow-logs, aws.defense-evasion.dns-delete-logs]
description: >
  A call that stops network telemetry: VPC flow logs deleted (ec2 DeleteFlowLogs), a Route 53
  Resolver query logging configuration deleted (DeleteResolverQueryLogConfig) or detached from a
  VPC (DisassociateResolverQueryLogConfig). Like cloudtrail_tampering, failed calls count: an
  attempt to blind the network logs is the signal. Calls made by AWS services on a user's behalf
  (CloudFormation stack deletion sets invokedBy) are not reported; teardown pipelines are tuned
  with a suppression on their role.
runbook: >
  1. Check what was removed (flow_log_ids / resolver_config) and whether it was part of a planned
     teardown (change ticket, the VPC being deleted).
  2. If not, recreate the flow logs / query logging at once, then treat the caller as compromised:
     review its session, and what the VPC did while unlogged (GuardDuty, other trails).
schedule: 15m
dedup_key: [account_id, region, event_name, principal]
tables: [cloudtrail]
*/
WITH {% include 'fragments/actor_records.sql' %}
SELECT
  {% include 'fragments/record_columns.sql' %},
  eventsource AS event_source,
  eventname AS event_name,
  coalesce(
    json_format(json_extract(requestparameters, '$.DeleteFlowLogsRequest.FlowLogId')),
    json_format(json_extract(requestparameters, '$.flowLogIds'))) AS flow_log_ids,
  json_extract_scalar(requestparameters, '$.resolverQueryLogConfigId') AS resolver_config,
  errorcode AS error_code,
  useragent AS user_agent
FROM actor_records
WHERE {{ window() }}
  AND ((eventsource = 'ec2.amazonaws.com' AND eventname = 'DeleteFlowLogs')
       OR (eventsource = 'route53resolver.amazonaws.com'
           AND eventname IN ('DeleteResolverQueryLogConfig', 'DisassociateResolverQueryLogConfig')))
  AND {% include 'fragments/not_aws_service.sql' %}
  {{ suppressions() }}
