/*
id: guardduty_finding
title: GuardDuty finding
severity: medium
attack: [T1078.004]
description: >
  Every GuardDuty finding exported to S3, archived and sample findings included (archived and
  sample are context columns, so a reader or a suppression can tell them apart). The severity
  comes from the finding: 7 and above high, 4 and above medium, else low. A finding GuardDuty
  updated several times in the window is reported once, in its latest version. The principal is
  the resource the finding is about (IAM user name, instance id, cluster, function, database
  or bucket); source_ip is the remote address GuardDuty saw (API caller, prober, or the peer of
  a network connection); threat_purpose is the first part of the finding type (Recon, ...).
  activity_first_seen/activity_last_seen are when the activity happened (GuardDuty's
  eventFirstSeen/eventLastSeen; the finding's time is its latest update), and the access key,
  principal id, user name and type, and instance id say who acted: incident correlation joins on them.
runbook: >
  Open the finding in the GuardDuty console (finding_type, event_id) and follow AWS's
  remediation guide for its type. For credential findings (IAMUser/...), disable the access key
  and review the principal's recent calls; for EC2 findings, isolate the instance (swap its
  security group) and snapshot its volumes before investigating. Archive it only once resolved.
schedule: 15m
dedup_key: [account_id, event_id]
tables: [guardduty]
*/
WITH findings AS (
  SELECT
    id, updatedat, createdat, accountid, finding_region, type, title, severity, resource, service,
    row_number() OVER (PARTITION BY accountid, finding_region, id ORDER BY updatedat DESC) AS version_rank
  FROM {{ table('guardduty') }}
  WHERE {{ window('guardduty') }}
    {{ suppressions('guardduty') }}
)
SELECT
  id AS event_id,
  updatedat AS event_time,
  accountid AS account_id,
  finding_region AS region,
  coalesce(json_extract_scalar(resource, '$.accessKeyDetails.userName'),
           json_extract_scalar(resource, '$.instanceDetails.instanceId'),
           json_extract_scalar(resource, '$.eksClusterDetails.name'),
           json_extract_scalar(resource, '$.ecsClusterDetails.name'),
           json_extract_scalar(resource, '$.lambdaDetails.functionName'),
           json_extract_scalar(resource, '$.rdsDbInstanceDetails.dbInstanceIdentifier'),
           json_extract_scalar(resource, '$.s3BucketDetails[0].name')) AS principal,
  coalesce(json_extract_scalar(service, '$.action.awsApiCallAction.remoteIpDetails.ipAddressV4'),
           json_extract_scalar(service, '$.action.kubernetesApiCallAction.remoteIpDetails.ipAddressV4'),
           json_extract_scalar(service, '$.action.rdsLoginAttemptAction.remoteIpDetails.ipAddressV4'),
           json_extract_scalar(service, '$.action.portProbeAction.portProbeDetails[0].remoteIpDetails.ipAddressV4'),
           json_extract_scalar(service, '$.action.networkConnectionAction.remoteIpDetails.ipAddressV4')) AS source_ip,
  CASE WHEN severity >= 7 THEN 'high' WHEN severity >= 4 THEN 'medium' ELSE 'low' END AS severity,
  severity AS finding_severity,
  type AS finding_type,
  split_part(type, ':', 1) AS threat_purpose,
  title,
  json_extract_scalar(resource, '$.resourceType') AS resource_type,
  json_extract_scalar(service, '$.action.actionType') AS action_type,
  coalesce(json_extract_scalar(service, '$.archived') = 'true', false) AS archived,
  coalesce(json_extract_scalar(service, '$.additionalInfo.sample') = 'true', false) AS sample,
  json_extract_scalar(service, '$.count') AS occurrences,
  createdat AS created_at,
  json_extract_scalar(service, '$.eventFirstSeen') AS activity_first_seen,
  json_extract_scalar(service, '$.eventLastSeen') AS activity_last_seen,
  json_extract_scalar(resource, '$.accessKeyDetails.accessKeyId') AS access_key_id,
  json_extract_scalar(resource, '$.accessKeyDetails.principalId') AS principal_id,
  json_extract_scalar(resource, '$.accessKeyDetails.userName') AS user_name,
  json_extract_scalar(resource, '$.accessKeyDetails.userType') AS user_type,
  json_extract_scalar(resource, '$.instanceDetails.instanceId') AS instance_id
FROM findings
WHERE version_rank = 1
