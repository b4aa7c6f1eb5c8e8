{#- Who made a record, read from the record alone (no other record consulted): the columns
    `direct_actor_type` (human, workload, service, root, unknown) and `direct_actor`.
    `fragments/actor_records.sql` completes it with role chains; see docs/actors.md.
    Service: invokedBy set, an AWSService identity, a service event, or a service name as the
    source address (sqs.amazonaws.com). Human: IAM users, SAML and federated users, Identity
    Center users, and sessions of roles on the path /aws-reserved/sso.amazonaws.com/ (the
    session name is the person). Workload: EC2 instance credentials (ec2RoleDelivery, or a
    session named after an instance) and web identities (GitHub Actions OIDC, EKS). Any other
    role session is unknown here: its issuer decides. -#}
CASE
    WHEN COALESCE(useridentity.invokedby, '') <> '' OR useridentity.type = 'AWSService'
         OR eventtype = 'AwsServiceEvent' OR COALESCE(sourceipaddress, '') LIKE '%.amazonaws.com' THEN 'service'
    WHEN useridentity.type = 'Root' THEN 'root'
    WHEN useridentity.type IN ('IAMUser', 'SAMLUser', 'FederatedUser', 'IdentityCenterUser')
         OR useridentity.onbehalfof.userid IS NOT NULL THEN 'human'
    WHEN useridentity.type = 'AssumedRole'
         AND (useridentity.sessioncontext.sessionissuer.arn LIKE '%:role/aws-reserved/sso.amazonaws.com/%'
              OR (useridentity.sessioncontext.sessionissuer.arn IS NULL
                  AND useridentity.arn LIKE '%:assumed-role/AWSReservedSSO\_%' ESCAPE '\')) THEN 'human'
    WHEN useridentity.type = 'AssumedRole'
         AND (useridentity.sessioncontext.ec2roledelivery IS NOT NULL
              OR regexp_like(COALESCE(regexp_extract(useridentity.principalid, ':(.+)$', 1), ''), '^i-[0-9a-fA-F]{8,17}$')) THEN 'workload'
    WHEN useridentity.type = 'WebIdentityUser' THEN 'workload'
    ELSE 'unknown'
  END AS direct_actor_type,
  CASE
    WHEN COALESCE(useridentity.invokedby, '') <> '' THEN useridentity.invokedby
    WHEN COALESCE(sourceipaddress, '') LIKE '%.amazonaws.com' THEN sourceipaddress
    WHEN useridentity.type = 'AWSService' OR eventtype = 'AwsServiceEvent' THEN COALESCE(useridentity.principalid, eventsource)
    WHEN useridentity.type IN ('IdentityCenterUser', 'SAMLUser', 'WebIdentityUser')
      THEN COALESCE(useridentity.username, useridentity.onbehalfof.userid, useridentity.principalid)
    WHEN useridentity.onbehalfof.userid IS NOT NULL THEN COALESCE(useridentity.username, useridentity.onbehalfof.userid)
    WHEN useridentity.type = 'AssumedRole'
         AND (useridentity.sessioncontext.sessionissuer.arn LIKE '%:role/aws-reserved/sso.amazonaws.com/%'
              OR (useridentity.sessioncontext.sessionissuer.arn IS NULL
                  AND useridentity.arn LIKE '%:assumed-role/AWSReservedSSO\_%' ESCAPE '\'))
      THEN COALESCE(regexp_extract(useridentity.principalid, ':(.+)$', 1), regexp_extract(useridentity.arn, '/([^/]+)$', 1))
    ELSE COALESCE(useridentity.arn, useridentity.principalid, useridentity.username)
  END AS direct_actor
