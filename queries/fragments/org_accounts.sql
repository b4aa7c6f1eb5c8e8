{#- CTE body: the accounts that deliver CloudTrail logs into this bucket within the window (the
    `account` partition of an organization trail), as one array `accounts`. Those are the
    organization's own accounts: a grant to one of them is not a grant to an outsider. -#}
SELECT array_agg(DISTINCT account) AS accounts
  FROM {{ table('cloudtrail') }}
  WHERE {{ window() }}
