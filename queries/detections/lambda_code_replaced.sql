/*
id: lambda_code_replaced
title: Lambda function code or layers replaced outside the deployment pipeline
severity: medium
attack: [T1525, T1574]
stratus: [aws.persistence.lambda-overwrite-code, aws.persistence.lambda-layer-extension]
description: >
  A successful UpdateFunctionCode, or an UpdateFunctionConfiguration that sets the function's
  layers (a layer can carry a Lambda extension that reads every invocation). CloudTrail may record
  the layers only in the response (`responseElements.layers`), so when the request does not name
  them the response's are read. Code changes all day in a delivery pipeline, so by default only
  what is rare is reported: a change made by an actor whose type is in `actor_types` (a person,
  through any credentials: an IAM user's key, an Identity Center session, a role chained from
  either; or root), or a layer published by another account, whoever adds it. Workloads (the
  CI/CD roles, a GitHub Actions OIDC role) are not reported by default: add `workload` to
  `actor_types` to see them, and list trusted deployers in `deployers` (ARNs, `*` wildcards) to
  keep them out. Event names carry an API version (UpdateFunctionCode20150331v2) and are matched
  through the shared event_name() normalisation. Deployments AWS services make on a user's behalf
  (CloudFormation, SAM: a service actor) are not reported. `change` says code or layers. Every
  such change is reported, grouped: one finding per actor, account and kind of change for a
  stretch of work, listing all its records and functions; a gap of more than `window_minutes`
  starts a new finding.
runbook: >
  1. Ask the function owner whether this deployment was expected (function_name, principal,
     user_agent: a console or CLI upload instead of the pipeline is suspicious).
  2. Compare code_sha256 with the pipeline's last artifact; inspect any new layer (layers),
     especially one from another account. Roll back to the last known version and review the
     caller's session.
schedule: 15m
dedup_key: [account_id, actor, change]
group_by: [account_id, actor, change]
tables: [cloudtrail]
parameters:
  window_minutes: 60
  deployers: []
  actor_types: [human, root]
*/
WITH {% include 'fragments/actor_records.sql' %},
changes AS (
  SELECT
    {% include 'fragments/record_columns.sql' %},
    {{ event_name() }} AS event_name,
    json_extract_scalar(requestparameters, '$.functionName') AS function_name,
    -- The request's layer ARNs; else the response's layer objects (their ARNs name the publishers).
    COALESCE(json_format(json_extract(requestparameters, '$.layers')),
             json_format(json_extract(responseelements, '$.layers'))) AS layers,
    json_extract_scalar(responseelements, '$.codeSha256') AS code_sha256,
    useragent AS user_agent
  FROM actor_records
  WHERE {{ window() }}
    AND eventsource = 'lambda.amazonaws.com'
    AND {{ event_name() }} IN ('UpdateFunctionCode', 'UpdateFunctionConfiguration')
    AND errorcode IS NULL
    AND {% include 'fragments/not_aws_service.sql' %}
    AND NOT {{ matches('useridentity.arn', deployers) }}
    {{ suppressions() }}
)
SELECT event_id, event_time, account_id, region, principal, source_ip, actor, actor_type, event_name, function_name,
       CASE WHEN event_name = 'UpdateFunctionCode' THEN 'code' ELSE 'layers' END AS change,
       layers, code_sha256, user_agent
FROM changes
WHERE (event_name = 'UpdateFunctionCode' OR COALESCE(layers, '[]') <> '[]')
  AND (actor_type IN {{ actor_types }}
       -- a layer ARN names its publisher: arn:aws:lambda:region:ACCOUNT:layer:name:version
       OR cardinality(filter(regexp_extract_all(COALESCE(layers, ''), 'arn:aws[a-z-]*:lambda:[^:]*:([0-9]{12}):layer:', 1),
                             publisher -> publisher <> account_id)) > 0)
