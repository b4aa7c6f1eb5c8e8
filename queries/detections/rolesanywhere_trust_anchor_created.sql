/*
id: rolesanywhere_trust_anchor_created
title: IAM Roles Anywhere trust anchor created or changed
severity: high
attack: [T1098.001]
stratus: [aws.persistence.rolesanywhere-create-trust-anchor]
description: >
  A successful CreateTrustAnchor or UpdateTrustAnchor in IAM Roles Anywhere: whoever holds a
  certificate from that authority can now obtain credentials for the roles of the profiles that
  use it, from anywhere, without an access key. Profiles (CreateProfile) are reported with it
  when they name roles, since a profile is what ties a trust anchor to roles. Anchors are set up
  rarely and by the identity team: suppress its role if it manages them routinely.
runbook: >
  1. Check the anchor (trust_anchor_name, source type) and the certificate authority it trusts:
     an AWS Private CA of yours, or an uploaded certificate (CERTIFICATE_BUNDLE) nobody knows?
  2. If unexpected, disable the trust anchor and profile (aws rolesanywhere
     disable-trust-anchor / disable-profile), look for CreateSession calls using it, and review
     the roles in role_arns and the caller's session.
schedule: 15m
dedup_key: [account_id, event_name, trust_anchor_name]
tables: [cloudtrail]
*/
WITH {% include 'fragments/actor_records.sql' %}
SELECT
  {% include 'fragments/record_columns.sql' %},
  eventname AS event_name,
  json_extract_scalar(requestparameters, '$.name') AS trust_anchor_name,
  json_extract_scalar(requestparameters, '$.source.sourceType') AS source_type,
  json_format(json_extract(requestparameters, '$.roleArns')) AS role_arns,
  useragent AS user_agent
FROM actor_records
WHERE {{ window() }}
  AND eventsource = 'rolesanywhere.amazonaws.com'
  AND (eventname IN ('CreateTrustAnchor', 'UpdateTrustAnchor')
       OR (eventname IN ('CreateProfile', 'UpdateProfile')
           AND json_extract(requestparameters, '$.roleArns') IS NOT NULL))
  AND errorcode IS NULL
  AND {% include 'fragments/not_aws_service.sql' %}
  {{ suppressions() }}
