/*
id: cloudtrail_bucket_tampered
title: CloudTrail log bucket policy, lifecycle or versioning changed
severity: high
attack: [T1562.008, T1485]
stratus: [aws.defense-evasion.cloudtrail-lifecycle-rule]
description: >
  A successful change to the bucket that stores the trail's logs: its bucket policy put or
  deleted, its ACL changed, a lifecycle configuration put or deleted (a short expiration rule
  silently deletes the logs: Stratus cloudtrail-lifecycle-rule), or versioning suspended. A
  trail bucket is one the data or the deployment names, whatever it is called: the bucket this
  deployment reads its logs from (an s3:// `source`), the s3BucketName of a CreateTrail or
  UpdateTrail in the window, a bucket whose policy put in the window grants
  cloudtrail.amazonaws.com; and any bucket matching `trail_buckets` (names, `*` wildcards; the
  defaults match the usual naming). `trail_bucket_because` says which. Changes made by AWS
  services (a service actor) are not reported; a deployment pipeline that owns the bucket is
  tuned with a suppression on its role.
runbook: >
  1. Read the change (event_name, request_parameters): a lifecycle rule with a short Expiration,
     a policy that grants or denies cloudtrail.amazonaws.com differently, versioning suspended.
  2. If it was not the logging team's change, restore the previous configuration, check that
     CloudTrail still delivers (aws cloudtrail get-trail-status: LatestDeliveryError), and run
     trailguard validate-logs over the period to see whether log files were removed.
schedule: 15m
dedup_key: [account_id, bucket_name, event_name, principal]
tables: [cloudtrail]
parameters:
  trail_buckets: ['*cloudtrail*', '*trail-logs*', '*audit-logs*']
*/
WITH {% include 'fragments/actor_records.sql' %},
changes AS (
  SELECT
    {% include 'fragments/record_columns.sql' %},
    eventname AS event_name,
    json_extract_scalar(requestparameters, '$.bucketName') AS bucket_name,
    json_extract_scalar(requestparameters, '$.VersioningConfiguration.Status') AS versioning_status,
    requestparameters AS request_parameters,
    useragent AS user_agent
  FROM actor_records
  WHERE {{ window() }}
    AND eventsource = 's3.amazonaws.com'
    AND eventname IN ('PutBucketPolicy', 'DeleteBucketPolicy', 'PutBucketAcl', 'PutBucketLifecycle',
                      'DeleteBucketLifecycle', 'PutBucketVersioning')
    AND errorcode IS NULL
    AND {% include 'fragments/not_aws_service.sql' %}
    {{ suppressions() }}
),
learned AS (
  -- Trail buckets the window's records name: a trail's s3BucketName, a policy granting CloudTrail.
  SELECT bucket_name, min(because) AS because
  FROM (
    SELECT COALESCE(json_extract_scalar(requestparameters, '$.s3BucketName'),
                    json_extract_scalar(responseelements, '$.s3BucketName')) AS bucket_name,
           concat(eventname, ' s3BucketName') AS because
    FROM {{ table('cloudtrail') }}
    WHERE {{ window() }}
      AND eventsource = 'cloudtrail.amazonaws.com'
      AND eventname IN ('CreateTrail', 'UpdateTrail')
      AND errorcode IS NULL
    UNION ALL
    SELECT json_extract_scalar(requestparameters, '$.bucketName') AS bucket_name,
           'bucket policy grants cloudtrail.amazonaws.com' AS because
    FROM {{ table('cloudtrail') }}
    WHERE {{ window() }}
      AND eventsource = 's3.amazonaws.com'
      AND eventname = 'PutBucketPolicy'
      AND errorcode IS NULL
      AND strpos(COALESCE(requestparameters, ''), 'cloudtrail.amazonaws.com') > 0
  ) AS named
  WHERE bucket_name IS NOT NULL
  GROUP BY bucket_name
)
SELECT c.event_id, c.event_time, c.account_id, c.region, c.principal, c.source_ip, c.actor, c.actor_type,
       c.event_name, c.bucket_name, c.request_parameters, c.user_agent,
       CASE WHEN {{ matches('c.bucket_name', trail_buckets) }} THEN 'name matches trail_buckets'
            WHEN l.because IS NOT NULL THEN l.because
            ELSE 'the configured source bucket' END AS trail_bucket_because
FROM changes c
LEFT JOIN learned l ON l.bucket_name = c.bucket_name
WHERE ({{ matches('c.bucket_name', trail_buckets) }}
       OR l.bucket_name IS NOT NULL
       {% if source_bucket %}OR c.bucket_name = {{ source_bucket }}{% endif %})
  AND (c.event_name <> 'PutBucketVersioning' OR c.versioning_status = 'Suspended')
