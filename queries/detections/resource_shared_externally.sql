/*
id: resource_shared_externally
title: EBS snapshot, AMI or RDS snapshot shared publicly or outside the organization
severity: high
attack: [T1537]
stratus: [aws.exfiltration.ec2-share-ebs-snapshot, aws.exfiltration.ec2-share-ami, aws.exfiltration.rds-share-snapshot]
description: >
  A successful permission change that lets someone else copy the data: an EBS snapshot's
  createVolumePermission (ModifySnapshotAttribute), an AMI's launchPermission
  (ModifyImageAttribute) or an RDS DB / cluster snapshot's restore attribute
  (ModifyDBSnapshotAttribute, ModifyDBClusterSnapshotAttribute) granted to everyone ("all") or
  to an account outside the organization: not one of the accounts whose logs this trail holds
  (the organization's, seen in the window) nor in `trusted_accounts` (known partners, and
  member accounts too quiet to appear in a short window). Removals and grants inside the
  organization are silent. `shared_with` lists the grantees that made it fire.
runbook: >
  1. Remove the grant right away (aws ec2 modify-snapshot-attribute / modify-image-attribute
     --operation-type remove, aws rds modify-db-snapshot-attribute --values-to-remove).
  2. Find out whether the other account already copied it (the other account's CloudTrail is not
     yours: assume yes) and what the snapshot or image held; rotate secrets it contained.
  3. Treat the caller as compromised unless the share was a planned hand-over.
schedule: 15m
dedup_key: [account_id, resource_id, event_name]
tables: [cloudtrail]
parameters:
  trusted_accounts: []
*/
WITH {% include 'fragments/actor_records.sql' %},
grants AS (
  SELECT
    {% include 'fragments/record_columns.sql' %},
    eventname AS event_name,
    coalesce(json_extract_scalar(requestparameters, '$.snapshotId'),
             json_extract_scalar(requestparameters, '$.imageId'),
             json_extract_scalar(requestparameters, '$.dBSnapshotIdentifier'),
             json_extract_scalar(requestparameters, '$.dBClusterSnapshotIdentifier')) AS resource_id,
    -- Every grantee added, as text: EC2 lists {"userId": ...} or {"group": "all"} items; RDS lists
    -- account ids or "all" in valuesToAdd.
    CASE
      WHEN eventsource = 'rds.amazonaws.com' THEN
        CASE WHEN json_extract_scalar(requestparameters, '$.attributeName') = 'restore'
             THEN TRY_CAST(json_extract(requestparameters, '$.valuesToAdd') AS ARRAY(VARCHAR)) END
      ELSE transform(
        COALESCE(TRY_CAST(coalesce(
                   json_extract(requestparameters, '$.createVolumePermission.add.items'),
                   json_extract(requestparameters, '$.launchPermission.add.items')) AS ARRAY(JSON)),
                 ARRAY[]),
        g -> coalesce(json_extract_scalar(g, '$.userId'), json_extract_scalar(g, '$.group'),
                      json_extract_scalar(g, '$.organizationArn'), json_extract_scalar(g, '$.organizationalUnitArn')))
    END AS grantees,
    useragent AS user_agent
  FROM actor_records
  WHERE {{ window() }}
    AND ((eventsource = 'ec2.amazonaws.com' AND eventname IN ('ModifySnapshotAttribute', 'ModifyImageAttribute'))
         OR (eventsource = 'rds.amazonaws.com'
             AND eventname IN ('ModifyDBSnapshotAttribute', 'ModifyDBClusterSnapshotAttribute')))
    AND errorcode IS NULL
    {{ suppressions() }}
),
org AS (
  {% include 'fragments/org_accounts.sql' %}
),
outside AS (
  SELECT grants.*,
    filter(grantees, g -> g IS NOT NULL AND g <> account_id AND NOT contains(org.accounts, g)
      {%- if trusted_accounts %} AND g NOT IN {{ trusted_accounts }}{% endif %}
      -- organization / OU grants stay inside the organization
      AND NOT regexp_like(g, '^arn:aws[a-z-]*:organizations::')) AS shared_with
  FROM grants CROSS JOIN org
)
SELECT event_id, event_time, account_id, region, principal, source_ip, actor, actor_type, event_name, resource_id,
       shared_with, user_agent
FROM outside
WHERE cardinality(shared_with) > 0
