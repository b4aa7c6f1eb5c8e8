/*
id: iam_role_trust_external
title: IAM role trust policy lets an outside principal assume the role
severity: high
attack: [T1098.003, T1098]
stratus: [aws.persistence.iam-backdoor-role, aws.persistence.iam-create-backdoor-role]
description: >
  A successful UpdateAssumeRolePolicy or CreateRole whose trust policy (policyDocument /
  assumeRolePolicyDocument) names an AWS principal of an account outside the organization (not
  one of the accounts whose logs this trail holds, seen in the window, nor in
  `trusted_accounts`: known vendors), or the wildcard principal "*" / {"AWS": "*"}: the role
  can now be assumed from outside, a backdoor that survives key rotation. Service principals
  (ec2.amazonaws.com ...) and federated providers are not AWS principals and do not fire.
  `outside_accounts` lists what made it fire.
runbook: >
  1. Read the policy (policy_document) and identify the outside account(s) in outside_accounts:
     a known vendor (monitoring, backup) or unknown?
  2. If unknown, restore the previous trust policy (or delete the role if it is new), revoke the
     role's active sessions, and look for AssumeRole calls on it from the outside account
     (sts AssumeRole records in the role's account). Review the caller's session.
schedule: 15m
dedup_key: [account_id, role_name, event_name]
tables: [cloudtrail]
parameters:
  trusted_accounts: []
*/
WITH {% include 'fragments/actor_records.sql' %},
changes AS (
  SELECT
    {% include 'fragments/record_columns.sql' %},
    eventname AS event_name,
    json_extract_scalar(requestparameters, '$.roleName') AS role_name,
    coalesce(json_extract_scalar(requestparameters, '$.policyDocument'),
             json_extract_scalar(requestparameters, '$.assumeRolePolicyDocument')) AS policy_document,
    useragent AS user_agent
  FROM actor_records
  WHERE {{ window() }}
    AND eventsource = 'iam.amazonaws.com'
    AND eventname IN ('UpdateAssumeRolePolicy', 'CreateRole')
    AND errorcode IS NULL
    {{ suppressions() }}
),
statements AS (
  -- One statement is written as an object, several as a list; Principal.AWS as a string or a list.
  SELECT *,
    COALESCE(TRY_CAST(json_extract(policy_document, '$.Statement') AS ARRAY(JSON)),
             ARRAY[json_extract(policy_document, '$.Statement')]) AS statement_list
  FROM changes
),
principals AS (
  SELECT *,
    flatten(transform(
      filter(statement_list, s -> json_extract_scalar(s, '$.Effect') = 'Allow'),
      s -> CASE
             WHEN json_extract_scalar(s, '$.Principal') = '*' THEN ARRAY['*']
             ELSE transform(
               COALESCE(TRY_CAST(json_extract(s, '$.Principal.AWS') AS ARRAY(JSON)),
                        ARRAY[json_extract(s, '$.Principal.AWS')]),
               p -> json_extract_scalar(p, '$'))
           END)) AS aws_principals
  FROM statements
),
org AS (
  {% include 'fragments/org_accounts.sql' %}
),
accounts AS (
  -- An AWS principal is "*", a 12-digit account id, or an ARN whose fifth field is the account.
  SELECT principals.*,
    array_distinct(filter(transform(aws_principals,
      p -> CASE WHEN p = '*' THEN '*'
                WHEN regexp_like(p, '^[0-9]{12}$') THEN p
                ELSE regexp_extract(p, '^arn:aws[a-z-]*:(iam|sts)::([0-9]{12}):', 2) END),
      a -> a IS NOT NULL AND a <> account_id AND NOT contains(org.accounts, a)
        {%- if trusted_accounts %} AND a NOT IN {{ trusted_accounts }}{% endif %})) AS outside_accounts
  FROM principals CROSS JOIN org
)
SELECT event_id, event_time, account_id, region, principal, source_ip, actor, actor_type, event_name, role_name,
       outside_accounts, policy_document, user_agent
FROM accounts
WHERE cardinality(outside_accounts) > 0
