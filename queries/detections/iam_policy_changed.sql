/*
id: iam_policy_changed
title: IAM permissions policy changed
severity: high
attack: [T1098.003]
stratus: [aws.persistence.iam-create-admin-user, aws.persistence.iam-create-backdoor-role]
description: >
  A successful (no errorCode) call that grants an IAM role, user or group new permissions: an
  inline policy put (Put{Role,User,Group}Policy), a managed policy attached
  (Attach{Role,User,Group}Policy), or a managed policy's content changed
  (CreatePolicyVersion, SetDefaultPolicyVersion). Detaching or deleting policies, trust
  policies and permissions boundaries are outside.
runbook: >
  Read the policy (policy_arn, or policy_document for inline policies and new versions) and the
  identity it now applies to. If the change was not made by the usual deployment pipeline, or it
  grants administrative or iam:* permissions, revert it (detach / delete the inline policy /
  set the previous default version) and review the caller's session for further escalation.
schedule: 15m
dedup_key: [account_id, event_name, target_role, target_user, target_group, policy_arn, policy_name]
tables: [cloudtrail]
*/
WITH {% include 'fragments/actor_records.sql' %}
SELECT
  {% include 'fragments/record_columns.sql' %},
  eventsource AS event_source,
  eventname AS event_name,
  json_extract_scalar(requestparameters, '$.roleName') AS target_role,
  json_extract_scalar(requestparameters, '$.userName') AS target_user,
  json_extract_scalar(requestparameters, '$.groupName') AS target_group,
  json_extract_scalar(requestparameters, '$.policyArn') AS policy_arn,
  json_extract_scalar(requestparameters, '$.policyName') AS policy_name,
  coalesce(json_extract_scalar(requestparameters, '$.versionId'),
           json_extract_scalar(responseelements, '$.policyVersion.versionId')) AS policy_version,
  json_extract_scalar(requestparameters, '$.policyDocument') AS policy_document
FROM actor_records
WHERE {{ window() }}
  AND eventname IN ('PutRolePolicy', 'PutUserPolicy', 'PutGroupPolicy',
                    'AttachRolePolicy', 'AttachUserPolicy', 'AttachGroupPolicy',
                    'CreatePolicyVersion', 'SetDefaultPolicyVersion')
  AND errorcode IS NULL
  {{ suppressions() }}
