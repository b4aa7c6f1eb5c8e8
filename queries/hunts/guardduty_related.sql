/*
GuardDuty findings of the window (latest version) that name one of the given IAM user names,
access key ids or remote IP addresses: what GuardDuty said about the principal under investigation.
*/
WITH latest AS (
  SELECT
    id, accountid, finding_region, type, severity, title, createdat, updatedat, resource, service,
    row_number() OVER (PARTITION BY accountid, finding_region, id ORDER BY updatedat DESC) AS version_rank
  FROM {{ table('guardduty') }}
  WHERE {{ window('guardduty') }}
)
SELECT
  {% include 'fragments/guardduty_summary_columns.sql' %},
  json_extract_scalar(resource, '$.accessKeyDetails.userName') AS user_name,
  json_extract_scalar(resource, '$.accessKeyDetails.accessKeyId') AS access_key_id,
  json_extract_scalar(service, '$.action.awsApiCallAction.remoteIpDetails.ipAddressV4') AS remote_ip
FROM latest
WHERE version_rank = 1
  AND (json_extract_scalar(resource, '$.accessKeyDetails.userName') IN {{ user_names }}
       OR json_extract_scalar(resource, '$.accessKeyDetails.accessKeyId') IN {{ access_keys }}
       OR json_extract_scalar(service, '$.action.awsApiCallAction.remoteIpDetails.ipAddressV4') IN {{ ips }})
ORDER BY updatedat
