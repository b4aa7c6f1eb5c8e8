/*
The GuardDuty findings behind one trailguard finding (`trailguard findings show`): the GuardDuty
finding ids it lists, latest version, within the finding's window. `event_ids` is a quoted list.
*/
SELECT
  id AS finding_id,
  updatedat AS updated_at,
  accountid AS account_id,
  finding_region AS region,
  type AS finding_type,
  severity,
  title
FROM {{ table('guardduty') }}
WHERE {{ window('guardduty') }}
  AND id IN {{ event_ids }}
ORDER BY updatedat
LIMIT {{ limit }}
