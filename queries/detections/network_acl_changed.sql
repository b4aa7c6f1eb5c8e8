/*
id: network_acl_changed
title: Network ACL changed
severity: low
attack: [T1562.007]
description: >
  A successful (no errorCode) change to a VPC network ACL: one created or deleted, an entry
  created, replaced or deleted, or a subnet moved to another ACL. NACLs are the stateless
  firewall of a subnet; opening one (an allow rule for 0.0.0.0/0) or swapping a subnet's ACL can
  expose everything in it. Security-group changes have their own detections.
runbook: >
  Look at the ACL (network_acl_id) and the rule (rule_number, rule_action, cidr_block, ports,
  egress). If the change was not made by the usual deployment pipeline, or it allows traffic
  from 0.0.0.0/0 or ::/0 to administrative ports, restore the previous rule or association and
  review what else the caller changed.
schedule: 15m
dedup_key: [account_id, region, network_acl_id, event_name, rule_number]
tables: [cloudtrail]
*/
WITH {% include 'fragments/actor_records.sql' %}
SELECT
  {% include 'fragments/record_columns.sql' %},
  eventname AS event_name,
  coalesce(json_extract_scalar(requestparameters, '$.networkAclId'),
           json_extract_scalar(responseelements, '$.networkAcl.networkAclId')) AS network_acl_id,
  coalesce(json_extract_scalar(requestparameters, '$.vpcId'),
           json_extract_scalar(responseelements, '$.networkAcl.vpcId')) AS vpc_id,
  json_extract_scalar(requestparameters, '$.associationId') AS association_id,
  json_extract_scalar(requestparameters, '$.ruleNumber') AS rule_number,
  json_extract_scalar(requestparameters, '$.ruleAction') AS rule_action,
  json_extract_scalar(requestparameters, '$.egress') AS egress,
  coalesce(json_extract_scalar(requestparameters, '$.cidrBlock'),
           json_extract_scalar(requestparameters, '$.ipv6CidrBlock')) AS cidr_block,
  json_extract_scalar(requestparameters, '$.aclProtocol') AS protocol,
  json_extract_scalar(requestparameters, '$.portRange.from') AS port_from,
  json_extract_scalar(requestparameters, '$.portRange.to') AS port_to
FROM actor_records
WHERE {{ window() }}
  AND eventname IN ('CreateNetworkAcl', 'CreateNetworkAclEntry', 'ReplaceNetworkAclEntry',
                    'DeleteNetworkAcl', 'DeleteNetworkAclEntry', 'ReplaceNetworkAclAssociation')
  AND errorcode IS NULL
  {{ suppressions() }}
