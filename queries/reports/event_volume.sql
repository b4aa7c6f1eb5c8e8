/*
Event volume: CloudTrail records per account, region, service and day of the window, with how
many failed. Behind the volume trends, the weekly report's volume chart and the exploration notebook.
*/
SELECT
  recipientaccountid AS account_id,
  awsregion AS region,
  eventsource AS event_source,
  substr(eventtime, 1, 10) AS event_day,
  count(*) AS events,
  count_if(errorcode IS NOT NULL) AS errors
FROM {{ table('cloudtrail') }}
WHERE {{ window() }}
GROUP BY 1, 2, 3, 4
