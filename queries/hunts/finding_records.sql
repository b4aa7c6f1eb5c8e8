/*
The CloudTrail records behind one finding (`trailguard findings show`): the event ids it lists,
within the finding's first..last seen window (partition-pruned). `event_ids` is a quoted list.
*/
SELECT
  {% include 'fragments/event_summary_columns.sql' %},
  sourceipaddress AS source_ip,
  useragent AS user_agent,
  eventid AS event_id
FROM {{ table('cloudtrail') }}
WHERE {{ window() }}
  AND eventid IN {{ event_ids }}
ORDER BY eventtime, eventid
LIMIT {{ limit }}
