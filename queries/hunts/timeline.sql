/*
Every record of the window where one field equals one value, oldest first: a principal's timeline
(useridentity.arn or the role behind a session), an actor's (a person across all the sessions
and role chains they used, docs/actors.md), an access key's, a source IP's. `field` is an
identifier the library checks against an allow-list; `value` is always a quoted literal.
*/
WITH {% include 'fragments/actor_records.sql' %}
SELECT
  {% include 'fragments/event_summary_columns.sql' %},
  actor,
  actor_type,
  useridentity.sessioncontext.sessionissuer.arn AS role,
  useridentity.accesskeyid AS access_key_id,
  sourceipaddress AS source_ip,
  useragent AS user_agent,
  readonly AS read_only,
  eventid AS event_id
FROM actor_records
WHERE {{ window() }}
  AND {{ ident(field) }} = {{ value }}
ORDER BY eventtime, eventid
LIMIT {{ limit }}
