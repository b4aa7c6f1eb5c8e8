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
    role's shape: service roles and Lambda or ECS user agents are workloads.

    Cost (docs/actors.md): the table is read twice, no more: the issuing STS calls once
    (`actor_issued`, referenced once: Athena evaluates a WITH query once per reference, so the
    chain is followed with window functions over that one read, not self-joins), and the
    window's records once (`actor_direct`), with only the columns the query names after this
    fragment (`actor_columns()`, filled in by pipeline/engines/templating.py), never `SELECT *`. -#}
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
actor_links AS (
  -- Each issuing call twice: as the owner of the key it issued ('own', linked by that key) and
  -- as a user of its caller's key ('use', linked by the caller's key). In one partition of
  -- `link`, the 'own' row is the parent of every 'use' row. Its own actor, where known.
  SELECT issued_key, role,
    CASE WHEN role = 'own' THEN issued_key ELSE issuer_key END AS link,
    CASE WHEN direct_actor_type <> 'unknown' THEN direct_actor_type END AS own_type,
    CASE WHEN direct_actor_type = 'service' THEN issued_arn
         WHEN direct_actor_type <> 'unknown' THEN direct_actor END AS own_actor
  FROM actor_issued
  CROSS JOIN UNNEST(ARRAY['own', 'use']) AS actor_roles (role)
),
actor_hops AS (
  -- One hop up: the call, else the call that issued its caller's credentials.
  SELECT *,
    COALESCE(own_type, max(CASE WHEN role = 'own' THEN own_type END) OVER (PARTITION BY link)) AS hop_type,
    CASE WHEN own_type IS NOT NULL THEN own_actor
         ELSE max(CASE WHEN role = 'own' THEN own_actor END) OVER (PARTITION BY link) END AS hop_actor
  FROM actor_links
),
actor_hops_own AS (
  -- The one-hop answer of each call, carried to its 'own' row (both rows share its issued key).
  SELECT *,
    max(CASE WHEN role = 'use' THEN hop_type END) OVER (PARTITION BY issued_key) AS call_type,
    max(CASE WHEN role = 'use' THEN hop_actor END) OVER (PARTITION BY issued_key) AS call_actor
  FROM actor_hops
),
actor_chain AS (
  -- Two hops up: the call, its issuer, else its issuer's issuer (the parent's one-hop answer).
  SELECT issued_key, role,
    COALESCE(hop_type, max(CASE WHEN role = 'own' THEN call_type END) OVER (PARTITION BY link)) AS chain_type,
    CASE WHEN hop_type IS NOT NULL THEN hop_actor
         ELSE max(CASE WHEN role = 'own' THEN call_actor END) OVER (PARTITION BY link) END AS chain_actor
  FROM actor_hops_own
),
actor_keys AS (
  SELECT issued_key AS session_key, max(chain_type) AS session_actor_type, max(chain_actor) AS session_actor
  FROM actor_chain
  WHERE role = 'use'
  GROUP BY issued_key
),
actor_direct AS (
  SELECT {{ actor_columns() }}, day,
    {% include 'fragments/actor_direct.sql' %}
  FROM {{ table('cloudtrail') }}
  WHERE {{ window() }}
),
actor_records AS (
  SELECT {{ actor_columns('actor_direct') }}, day, direct_actor_type, direct_actor,
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
/* end of actor_records */
