/*
Log coverage: per account and region folder of the trail (the partition the files were delivered
to), how many records arrived, the first and last event time, and in how many distinct hours there
were events. An account or region that is silent, or whose last event is long before the
organization's, has stopped delivering: an outage, a misconfiguration or tampering.
*/
SELECT
  account AS account_id,
  region,
  count(*) AS events,
  min(eventtime) AS first_event,
  max(eventtime) AS last_event,
  count(DISTINCT substr(eventtime, 1, 13)) AS active_hours
FROM {{ table('cloudtrail') }}
WHERE {{ window() }}
GROUP BY 1, 2
