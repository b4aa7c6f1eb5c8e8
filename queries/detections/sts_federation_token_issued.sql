/*
id: sts_federation_token_issued
title: STS federation token issued to an IAM user
severity: medium
attack: [T1550.001, T1078.004]
stratus: [aws.persistence.sts-federation-token]
description: >
  A successful sts:GetFederationToken. The token outlives the deactivation of the access key that
  requested it (up to 36 hours) and its session cannot be revoked by the IAM console, which makes
  it a favourite way to keep access with a stolen long-term key; few workloads still use it (it
  predates roles). Identity brokers that do are listed in `brokers` (ARNs, `*` wildcards) or
  suppressed. `policy` is the session policy passed in, if any.
runbook: >
  1. Is the caller (principal) an identity broker that mints federation tokens by design?
  2. If not, the caller's access key is likely stolen: deactivate it, and attach a policy to the
     user denying everything for tokens issued before now (aws:TokenIssueTime), since federation
     sessions survive key deactivation. Review calls by federated-user/<federated_name>.
schedule: 15m
dedup_key: [account_id, principal, federated_name]
tables: [cloudtrail]
parameters:
  brokers: []
*/
WITH {% include 'fragments/actor_records.sql' %}
SELECT
  {% include 'fragments/record_columns.sql' %},
  eventname AS event_name,
  json_extract_scalar(requestparameters, '$.name') AS federated_name,
  json_extract_scalar(requestparameters, '$.policy') AS policy,
  useragent AS user_agent
FROM actor_records
WHERE {{ window() }}
  AND eventsource = 'sts.amazonaws.com'
  AND eventname = 'GetFederationToken'
  AND errorcode IS NULL
  AND NOT {{ matches('useridentity.arn', brokers) }}
  {{ suppressions() }}
