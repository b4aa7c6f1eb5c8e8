/*
The most called APIs of the window: calls, failures and distinct callers per service and event name.
*/
SELECT
  eventsource AS event_source,
  eventname AS event_name,
  count(*) AS events,
  count_if(errorcode IS NOT NULL) AS errors,
  count(DISTINCT useridentity.arn) AS principals,
  count(DISTINCT recipientaccountid) AS accounts
FROM {{ table('cloudtrail') }}
WHERE {{ window() }}
GROUP BY 1, 2
ORDER BY events DESC
LIMIT {{ limit }}
