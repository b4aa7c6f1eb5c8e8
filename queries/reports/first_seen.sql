/*
Actors, source IPs, regions and user agents first seen in the period: the window spans the
baseline and the period, one scan groups each kind of entity on its own (GROUPING SETS), and an
entity is new when its earliest record falls inside the period. Exactly one of the four entity
columns is set on each row. An actor is who did it (docs/actors.md): a person across all their
Identity Center sessions and role chains, a workload, a service; a role session that cannot be
placed counts as its role (the session issuer), so a role assumed under a new session name is
not a new actor.
sensitive_calls counts the entity's calls that change who may do what or what gets recorded
(writes to IAM, Organizations, Identity Center, CloudTrail, GuardDuty, Config, Security Hub),
expose data or access (bucket policies and ACLs, key policies and deletion, security group
ingress, shared snapshots and images, Lambda permissions and code), run commands on hosts, or
read a secret: the report ranks new source IPs by them.
*/
WITH {% include 'fragments/actor_records.sql' %}
SELECT
  CASE WHEN actor_type = 'unknown' THEN coalesce(useridentity.sessioncontext.sessionissuer.arn, actor) ELSE actor END AS actor,
  sourceipaddress AS source_ip,
  awsregion AS region,
  useragent AS user_agent,
  min(eventtime) AS first_time,
  max(eventtime) AS last_time,
  count(*) AS events,
  count(DISTINCT recipientaccountid) AS accounts,
  sum(CASE WHEN (readonly = 'false' AND eventsource IN (
      'iam.amazonaws.com', 'organizations.amazonaws.com', 'sso.amazonaws.com', 'identitystore.amazonaws.com',
      'cloudtrail.amazonaws.com', 'guardduty.amazonaws.com', 'config.amazonaws.com', 'securityhub.amazonaws.com'))
    OR {{ event_name() }} IN (
      'ConsoleLogin', 'GetFederationToken', 'GetSecretValue', 'GetPasswordData',
      'PutBucketPolicy', 'PutBucketAcl', 'DeleteBucketPolicy', 'DeletePublicAccessBlock', 'PutBucketPublicAccessBlock',
      'PutKeyPolicy', 'ScheduleKeyDeletion', 'DisableKey', 'CreateGrant',
      'AuthorizeSecurityGroupIngress', 'ModifySnapshotAttribute', 'ModifyImageAttribute', 'ModifyInstanceAttribute',
      'AddPermission', 'UpdateFunctionCode', 'SendCommand', 'StartSession')
    THEN 1 ELSE 0 END) AS sensitive_calls
FROM actor_records
WHERE {{ window() }}
GROUP BY GROUPING SETS ((CASE WHEN actor_type = 'unknown' THEN coalesce(useridentity.sessioncontext.sessionissuer.arn, actor) ELSE actor END), (sourceipaddress), (awsregion), (useragent))
HAVING min(eventtime) >= {{ period_start }}
