/*
id: s3_bucket_made_public
title: S3 bucket made public
severity: high
attack: [T1530, T1222]
description: >
  A successful bucket permission change that exposes the bucket to everyone: an ACL grant to the
  AllUsers or AuthenticatedUsers group (in the ACL body or an x-amz-grant-* header); a canned ACL
  of public-read, public-read-write or authenticated-read; a bucket policy with an Allow statement
  whose Principal is "*" or {"AWS": "*"} and which has no Condition; deleting the bucket's Block
  Public Access configuration; or putting one with any of its four flags false (S3 treats a flag
  left out of the request as false). Deny statements, conditioned statements, the LogDelivery
  group and other accounts' canonical users do not expose a bucket. Object ACLs, account-level
  Block Public Access and failed calls are out of scope. `exposure` says which rule matched.
runbook: >
  1. Check the bucket (bucket_name) right now: aws s3api get-bucket-policy-status, get-bucket-acl,
     get-public-access-block. If it is still public and should not be, re-enable Block Public
     Access on it (aws s3api put-public-access-block, all four flags true) before anything else.
  2. Ask the bucket owner whether the bucket is meant to be public (static website, public
     dataset). If it is, suppress this bucket in trailguard.toml.
  3. If not, restore the previous ACL/policy, then review what was read while it was exposed
     (S3 server access logs or CloudTrail data events for the bucket) and the principal's other
     calls in the same session.
schedule: 15m
dedup_key: [account_id, bucket_name, event_id]
tables: [cloudtrail]
*/
WITH {% include 'fragments/actor_records.sql' %},
changes AS (
  SELECT
    {% include 'fragments/record_columns.sql' %},
    eventname AS event_name,
    json_extract_scalar(requestparameters, '$.bucketName') AS bucket_name,
    json_extract(requestparameters, '$.AccessControlPolicy.AccessControlList.Grant') AS acl_grant,
    json_extract(requestparameters, '$["x-amz-acl"]') AS canned_acl,
    -- x-amz-grant-* headers name grantees as text: uri="http://acs.amazonaws.com/groups/global/AllUsers"
    concat_ws(' ',
      json_format(json_extract(requestparameters, '$["x-amz-grant-read"]')),
      json_format(json_extract(requestparameters, '$["x-amz-grant-write"]')),
      json_format(json_extract(requestparameters, '$["x-amz-grant-read-acp"]')),
      json_format(json_extract(requestparameters, '$["x-amz-grant-write-acp"]')),
      json_format(json_extract(requestparameters, '$["x-amz-grant-full-control"]'))) AS grant_headers,
    json_extract(requestparameters, '$.bucketPolicy.Statement') AS policy_statement,
    -- A flag left out of PutBucketPublicAccessBlock is false, so a missing flag counts as not 'true'.
    ARRAY[
      lower(json_extract_scalar(requestparameters, '$.PublicAccessBlockConfiguration.BlockPublicAcls')),
      lower(json_extract_scalar(requestparameters, '$.PublicAccessBlockConfiguration.IgnorePublicAcls')),
      lower(json_extract_scalar(requestparameters, '$.PublicAccessBlockConfiguration.BlockPublicPolicy')),
      lower(json_extract_scalar(requestparameters, '$.PublicAccessBlockConfiguration.RestrictPublicBuckets'))
    ] AS block_flags,
    useragent AS user_agent
  FROM actor_records
  WHERE {{ window() }}
    AND eventname IN ('PutBucketAcl', 'PutBucketPolicy', 'PutBucketPublicAccessBlock', 'DeleteBucketPublicAccessBlock')
    AND errorcode IS NULL
    {{ suppressions() }}
),
lists AS (
  -- CloudTrail writes a single ACL grant, policy statement or header value as the value itself and
  -- several as a JSON list: make every one an ARRAY(JSON) (a non-list becomes a one-element array).
  SELECT *,
    COALESCE(TRY_CAST(acl_grant AS ARRAY(JSON)), ARRAY[acl_grant]) AS grants,
    COALESCE(TRY_CAST(canned_acl AS ARRAY(JSON)), ARRAY[canned_acl]) AS canned_acls,
    COALESCE(TRY_CAST(policy_statement AS ARRAY(JSON)), ARRAY[policy_statement]) AS statements
  FROM changes
),
exposures AS (
  SELECT *,
    CASE
      WHEN event_name = 'DeleteBucketPublicAccessBlock'
        THEN 'public_access_block_deleted'
      WHEN event_name = 'PutBucketPublicAccessBlock'
       AND cardinality(filter(block_flags, f -> f IS DISTINCT FROM 'true')) > 0
        THEN 'public_access_block_disabled'
      WHEN event_name = 'PutBucketAcl'
       AND cardinality(filter(grants, g -> regexp_like(json_extract_scalar(g, '$.Grantee.URI'),
                                                       '/groups/global/(AllUsers|AuthenticatedUsers)$'))) > 0
        THEN 'acl_grant_to_public_group'
      WHEN event_name = 'PutBucketAcl'
       AND regexp_like(grant_headers, 'acs\.amazonaws\.com/groups/global/(AllUsers|AuthenticatedUsers)')
        THEN 'acl_grant_to_public_group'
      WHEN event_name = 'PutBucketAcl'
       AND cardinality(filter(canned_acls, a -> lower(json_extract_scalar(a, '$'))
                                                IN ('public-read', 'public-read-write', 'authenticated-read'))) > 0
        THEN 'public_canned_acl'
      -- Public statement: Allow, no Condition, Principal "*" or {"AWS": "*"} / {"AWS": [..., "*"]}.
      WHEN event_name = 'PutBucketPolicy'
       AND cardinality(filter(statements, s ->
             json_extract_scalar(s, '$.Effect') = 'Allow'
             AND json_extract(s, '$.Condition') IS NULL
             AND (json_extract_scalar(s, '$.Principal') = '*'
                  OR cardinality(filter(
                       COALESCE(TRY_CAST(json_extract(s, '$.Principal.AWS') AS ARRAY(JSON)),
                                ARRAY[json_extract(s, '$.Principal.AWS')]),
                       p -> json_extract_scalar(p, '$') = '*')) > 0))) > 0
        THEN 'policy_allows_everyone'
    END AS exposure
  FROM lists
)
SELECT event_id, event_time, account_id, region, principal, source_ip, actor, actor_type, event_name, bucket_name, exposure, user_agent
FROM exposures
WHERE exposure IS NOT NULL
