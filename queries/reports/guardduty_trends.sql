/*
GuardDuty findings of the window in their latest version, counted by account, region, type family
(the part of the type before the colon: Backdoor, CryptoCurrency, Recon, UnauthorizedAccess, ...),
type, severity label and the day GuardDuty created them. Sample findings are counted apart.
*/
WITH latest AS (
  SELECT
    id, accountid, finding_region, type, severity, createdat, service,
    row_number() OVER (PARTITION BY accountid, finding_region, id ORDER BY updatedat DESC) AS version_rank
  FROM {{ table('guardduty') }}
  WHERE {{ window('guardduty') }}
)
SELECT
  accountid AS account_id,
  finding_region AS region,
  split_part(type, ':', 1) AS type_family,
  type AS finding_type,
  CASE WHEN severity >= 9 THEN 'critical' WHEN severity >= 7 THEN 'high'
       WHEN severity >= 4 THEN 'medium' ELSE 'low' END AS severity,
  substr(createdat, 1, 10) AS created_day,
  coalesce(json_extract_scalar(service, '$.additionalInfo.sample') = 'true', false) AS sample,
  count(*) AS findings,
  max(severity) AS max_severity
FROM latest
WHERE version_rank = 1
GROUP BY 1, 2, 3, 4, 5, 6, 7
