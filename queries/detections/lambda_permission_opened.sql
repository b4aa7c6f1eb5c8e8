/*
id: lambda_permission_opened
title: Lambda function made invocable by everyone or another account
severity: high
attack: [T1098, T1546]
stratus: [aws.persistence.lambda-backdoor-function]
description: >
  A successful lambda:AddPermission (any API version: the event name is normalised with
  event_name()) whose principal is "*" or an AWS account outside the organization (not one of
  the accounts whose logs this trail holds, seen in the window, nor in `trusted_accounts`), without a SourceArn / SourceAccount / PrincipalOrgID condition
  narrowing it. A grant to a service principal (s3.amazonaws.com, events.amazonaws.com ...) with
  no condition at all (no SourceArn, SourceAccount, PrincipalOrgID or EventSourceToken) is just as
  open: any account's bucket, rule or API can then invoke the function (the confused deputy), so
  it fires too (`grantee` names the service); narrowed to a source, a service grant does not.
  Function URLs with auth type NONE are the same exposure: AddPermission with
  functionUrlAuthType NONE and principal "*" fires.
runbook: >
  1. Read the statement (statement_id, grantee, function_name): remove it
     (aws lambda remove-permission) unless the function is a deliberate public or partner API.
  2. Look at who invoked the function since (CloudWatch metrics, data events) and what the
     function's role can do: a public function with a powerful role is a way back in.
schedule: 15m
dedup_key: [account_id, function_name, statement_id]
tables: [cloudtrail]
parameters:
  trusted_accounts: []
*/
WITH {% include 'fragments/actor_records.sql' %},
grants AS (
  SELECT
    {% include 'fragments/record_columns.sql' %},
    eventname AS event_name,
    json_extract_scalar(requestparameters, '$.functionName') AS function_name,
    json_extract_scalar(requestparameters, '$.statementId') AS statement_id,
    json_extract_scalar(requestparameters, '$.principal') AS grantee,
    coalesce(json_extract_scalar(requestparameters, '$.sourceArn'),
             json_extract_scalar(requestparameters, '$.sourceAccount'),
             json_extract_scalar(requestparameters, '$.principalOrgID'),
             json_extract_scalar(requestparameters, '$.eventSourceToken')) AS narrowed_by,
    useragent AS user_agent
  FROM actor_records
  WHERE {{ window() }}
    AND eventsource = 'lambda.amazonaws.com'
    AND {{ event_name() }} = 'AddPermission'
    AND errorcode IS NULL
    {{ suppressions() }}
),
org AS (
  {% include 'fragments/org_accounts.sql' %}
),
grantee_accounts AS (
  SELECT grants.*, org.accounts AS org_accounts,
    CASE WHEN grantee = '*' THEN '*'
         -- a service principal with no condition: every account's resources of that service
         WHEN regexp_like(grantee, '^[a-z0-9.-]+\.amazonaws\.com(\.cn)?$') THEN '*'
         WHEN regexp_like(grantee, '^[0-9]{12}$') THEN grantee
         ELSE regexp_extract(grantee, '^arn:aws[a-z-]*:(iam|sts)::([0-9]{12}):', 2) END AS grantee_account
  FROM grants CROSS JOIN org
)
SELECT event_id, event_time, account_id, region, principal, source_ip, actor, actor_type, event_name, function_name,
       statement_id, grantee, user_agent
FROM grantee_accounts
WHERE narrowed_by IS NULL
  AND grantee_account IS NOT NULL
  AND grantee_account <> account_id
  AND NOT contains(org_accounts, grantee_account)
  {% if trusted_accounts %}AND grantee_account NOT IN {{ trusted_accounts }}{% endif %}
