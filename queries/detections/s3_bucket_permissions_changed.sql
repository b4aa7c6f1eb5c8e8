/*
id: s3_bucket_permissions_changed
title: S3 bucket permissions changed
severity: medium
attack: [T1222, T1530]
stratus: [aws.exfiltration.s3-backdoor-bucket-policy]
description: >
  A bucket's access control changed: its ACL (PutBucketAcl), its bucket policy (PutBucketPolicy,
  DeleteBucketPolicy) or its bucket-level Block Public Access settings (PutBucketPublicAccessBlock,
  DeleteBucketPublicAccessBlock), and the call succeeded. Object ACLs (PutObjectAcl) and the
  account-level Block Public Access settings (PutAccountPublicAccessBlock) are not bucket
  permissions; failed calls changed nothing. s3_bucket_made_public reports the subset that
  exposes the bucket.
runbook: >
  1. Identify the bucket (bucket_name) and the change (event_name); read the request in the
     CloudTrail record (the new ACL, policy or public-access-block flags).
  2. Confirm with the bucket owner that the principal was expected to change it (change ticket,
     deployment pipeline, Terraform role).
  3. If not expected, restore the previous ACL/policy (aws s3api get-bucket-policy / get-bucket-acl
     show the current state; AWS Config history shows the previous one) and re-enable Block Public
     Access, then review the principal's other calls in the same session.
schedule: 15m
dedup_key: [account_id, bucket_name, event_id]
tables: [cloudtrail]
*/
WITH {% include 'fragments/actor_records.sql' %}
SELECT
  {% include 'fragments/record_columns.sql' %},
  eventname AS event_name,
  json_extract_scalar(requestparameters, '$.bucketName') AS bucket_name,
  useragent AS user_agent
FROM actor_records
WHERE {{ window() }}
  AND eventname IN ('PutBucketAcl', 'PutBucketPolicy', 'DeleteBucketPolicy',
                    'PutBucketPublicAccessBlock', 'DeleteBucketPublicAccessBlock')
  AND errorcode IS NULL
  {{ suppressions() }}
