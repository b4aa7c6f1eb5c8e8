{#- CTEs ending in `actor_records`: every CloudTrail record of the window with its resolved
    `actor` and `actor_type` (human, workload, service, root, unknown), on both engines. Use it
    as the first entries of a WITH and read `actor_records` where a query would read the table:
      WITH {% include 'fragments/actor_records.sql' %}, calls AS (SELECT ... FROM actor_records WHERE {{ window() }} ...)
    A record's own identity decides first (fragments/actor_direct.sql). A role session it cannot
    place inherits from the call that issued its credentials: the AssumeRole (or
    AssumeRoleWithWebIdentity/SAML, GetFederationToken, GetSessionToken) record whose returned
    accessKeyId the session uses, up to three hops of a chain and across accounts, issued within
    `actor_session_minutes` before the window (the longest role session). A session that a
    service issued (an instance profile, a Lambda execution role) is a workload, named by its
    role session. Then sourceIdentity (set by the identity provider for a person), then the
    role's shape: service roles and Lambda or ECS user agents are workloads. -#}
actor_issued AS (
  SELECT
    json_extract_scalar(responseelements, '$.credentials.accessKeyId') AS issued_key,
    COALESCE(json_extract_scalar(responseelements, '$.assumedRoleUser.arn'),
             json_extract_scalar(responseelements, '$.federatedUser.arn')) AS issued_arn,
    useridentity.accesskeyid AS issuer_key,
    {% include 'fragments/actor_direct.sql' %}
  FROM {{ table('cloudtrail') }}
  WHERE {{ window(before_minutes=actor_session_minutes) }}
    AND eventsource = 'sts.amazonaws.com'
    AND eventname IN ('AssumeRole', 'AssumeRoleWithSAML', 'AssumeRoleWithWebIdentity', 'GetFederationToken', 'GetSessionToken')
    AND errorcode IS NULL
    AND json_extract_scalar(responseelements, '$.credentials.accessKeyId') IS NOT NULL
),
actor_keys AS (
  -- The first hop of the chain (the issuing call, its issuer, theirs) whose identity is known.
  SELECT hop.issued_key AS session_key,
         max(CASE WHEN hop.direct_actor_type <> 'unknown' THEN hop.direct_actor_type
                  WHEN parent.direct_actor_type <> 'unknown' THEN parent.direct_actor_type
                  ELSE grand.direct_actor_type END) AS session_actor_type,
         max(CASE WHEN hop.direct_actor_type = 'service' THEN hop.issued_arn
                  WHEN hop.direct_actor_type <> 'unknown' THEN hop.direct_actor
                  WHEN parent.direct_actor_type = 'service' THEN parent.issued_arn
                  WHEN parent.direct_actor_type <> 'unknown' THEN parent.direct_actor
                  WHEN grand.direct_actor_type = 'service' THEN grand.issued_arn
                  ELSE grand.direct_actor END) AS session_actor
  FROM actor_issued AS hop
  LEFT JOIN actor_issued AS parent ON parent.issued_key = hop.issuer_key
  LEFT JOIN actor_issued AS grand ON grand.issued_key = parent.issuer_key
  GROUP BY hop.issued_key
),
actor_direct AS (
  SELECT *, {% include 'fragments/actor_direct.sql' %}
  FROM {{ table('cloudtrail') }}
  WHERE {{ window() }}
),
actor_records AS (
  SELECT actor_direct.*,
    CASE
      WHEN direct_actor_type <> 'unknown' THEN direct_actor_type
      WHEN session_actor_type = 'service' THEN 'workload'
      WHEN session_actor_type IN ('human', 'workload', 'root') THEN session_actor_type
      WHEN useridentity.sessioncontext.sourceidentity IS NOT NULL THEN 'human'
      WHEN useridentity.sessioncontext.sessionissuer.arn LIKE '%:role/service-role/%'
           OR useridentity.sessioncontext.sessionissuer.arn LIKE '%:role/aws-service-role/%'
           OR COALESCE(useragent, '') LIKE '%exec-env/AWS\_Lambda\_%' ESCAPE '\'
           OR COALESCE(useragent, '') LIKE '%exec-env/AWS\_ECS\_%' ESCAPE '\' THEN 'workload'
      ELSE 'unknown'
    END AS actor_type,
    CASE
      WHEN direct_actor_type <> 'unknown' THEN direct_actor
      WHEN session_actor_type = 'service' THEN COALESCE(useridentity.arn, session_actor)
      WHEN session_actor_type IN ('human', 'workload', 'root') THEN session_actor
      WHEN useridentity.sessioncontext.sourceidentity IS NOT NULL THEN useridentity.sessioncontext.sourceidentity
      ELSE direct_actor
    END AS actor
  FROM actor_direct
  LEFT JOIN actor_keys ON actor_keys.session_key = actor_direct.useridentity.accesskeyid
)
