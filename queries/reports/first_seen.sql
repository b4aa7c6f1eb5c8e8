/*
Principals, source IPs, regions and user agents first seen in the period: the window spans the
baseline and the period, one scan groups each kind of entity on its own (GROUPING SETS), and an
entity is new when its earliest record falls inside the period. Exactly one of the four entity
columns is set on each row. A role session counts as its role (the session issuer), so a role
assumed under a new session name is not a new principal.
*/
SELECT
  coalesce(useridentity.sessioncontext.sessionissuer.arn, useridentity.arn) AS principal,
  sourceipaddress AS source_ip,
  awsregion AS region,
  useragent AS user_agent,
  min(eventtime) AS first_time,
  max(eventtime) AS last_time,
  count(*) AS events,
  count(DISTINCT recipientaccountid) AS accounts
FROM {{ table('cloudtrail') }}
WHERE {{ window() }}
GROUP BY GROUPING SETS ((coalesce(useridentity.sessioncontext.sessionissuer.arn, useridentity.arn)), (sourceipaddress), (awsregion), (useragent))
HAVING min(eventtime) >= {{ period_start }}
