/*
id: lambda_code_replaced
title: Lambda function code or layers replaced outside the deployment pipeline
severity: medium
attack: [T1525, T1574]
stratus: [aws.persistence.lambda-overwrite-code, aws.persistence.lambda-layer-extension]
description: >
  A successful UpdateFunctionCode, or an UpdateFunctionConfiguration that sets the function's
  layers (a layer can carry a Lambda extension that reads every invocation), by a principal that
  is not one of the `deployers` (role or user ARNs, `*` wildcards: the CI/CD roles that ship
  code). Event names carry an API version (UpdateFunctionCode20150331v2) and are matched through
  the shared event_name() normalisation. Deployments that AWS services make on a user's behalf
  (CloudFormation, SAM: invokedBy set) are not reported. `change` says code or layers; `layers`
  lists the layer ARNs, and a layer from another account is the stronger signal.
runbook: >
  1. Ask the function owner whether this deployment was expected (function_name, principal,
     user_agent: a console or CLI upload instead of the pipeline is suspicious).
  2. Compare code_sha256 with the pipeline's last artifact; inspect any new layer (layers),
     especially one from another account. Roll back to the last known version and review the
     caller's session.
schedule: 15m
dedup_key: [account_id, function_name, change, principal]
tables: [cloudtrail]
parameters:
  deployers: []
*/
WITH changes AS (
  SELECT
    {% include 'fragments/record_columns.sql' %},
    {{ event_name() }} AS event_name,
    json_extract_scalar(requestparameters, '$.functionName') AS function_name,
    json_format(json_extract(requestparameters, '$.layers')) AS layers,
    json_extract_scalar(responseelements, '$.codeSha256') AS code_sha256,
    useragent AS user_agent
  FROM {{ table('cloudtrail') }}
  WHERE {{ window() }}
    AND eventsource = 'lambda.amazonaws.com'
    AND {{ event_name() }} IN ('UpdateFunctionCode', 'UpdateFunctionConfiguration')
    AND errorcode IS NULL
    AND {% include 'fragments/not_aws_service.sql' %}
    AND NOT {{ matches('useridentity.arn', deployers) }}
    {{ suppressions() }}
)
SELECT event_id, event_time, account_id, region, principal, source_ip, event_name, function_name,
       CASE WHEN event_name = 'UpdateFunctionCode' THEN 'code' ELSE 'layers' END AS change,
       layers, code_sha256, user_agent
FROM changes
WHERE event_name = 'UpdateFunctionCode' OR COALESCE(layers, '[]') <> '[]'
