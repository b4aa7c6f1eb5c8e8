/*
CloudTrail volumes behind the cost estimate: records per account, region, event day and billing
category. GuardDuty bills management events and S3 data events separately, per account and region;
CloudTrail bills data events (and extra copies of management events). The account and region are
the partition's, i.e. where the trail delivered the record and where GuardDuty analyses it.
Records written before eventCategory existed are management events unless managementEvent is false.
*/
SELECT
  account AS account_id,
  region,
  substr(eventtime, 1, 10) AS event_day,
  CASE
    WHEN eventcategory = 'NetworkActivity' THEN 'network_activity'
    WHEN eventcategory = 'Insight' THEN 'insight'
    WHEN eventcategory = 'Data' OR lower(managementevent) = 'false' THEN
      CASE WHEN eventsource = 's3.amazonaws.com' THEN 's3_data' ELSE 'other_data' END
    ELSE 'management'
  END AS category,
  count(*) AS events
FROM {{ table('cloudtrail') }}
WHERE {{ window() }}
GROUP BY 1, 2, 3, 4
