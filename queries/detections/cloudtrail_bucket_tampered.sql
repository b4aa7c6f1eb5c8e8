/*
id: cloudtrail_bucket_tampered
title: CloudTrail log bucket policy, lifecycle or versioning changed
severity: high
attack: [T1562.008, T1485]
stratus: [aws.defense-evasion.cloudtrail-lifecycle-rule]
description: >
  A successful change to the bucket that stores the trail's logs: its bucket policy put or
  deleted, its ACL changed, a lifecycle configuration put or deleted (a short expiration rule
  silently deletes the logs: Stratus cloudtrail-lifecycle-rule), or versioning suspended. Which
  buckets are trail buckets is the parameter `trail_buckets` (names, `*` wildcards); the
  defaults match the usual naming. Changes made by AWS services (invokedBy set) are not
  reported; a deployment pipeline that owns the bucket is tuned with a suppression on its role.
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
)
SELECT event_id, event_time, account_id, region, principal, source_ip, actor, actor_type, event_name, bucket_name,
       request_parameters, user_agent
FROM changes
WHERE {{ matches('bucket_name', trail_buckets) }}
  AND (event_name <> 'PutBucketVersioning' OR versioning_status = 'Suspended')
