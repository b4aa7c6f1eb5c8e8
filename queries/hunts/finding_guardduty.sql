/*
The GuardDuty findings behind one trailguard finding (`trailguard findings show`): the GuardDuty
finding ids it lists, latest version, within the finding's window. `event_ids` is a quoted list.
*/
SELECT
  {% include 'fragments/guardduty_summary_columns.sql' %}
FROM {{ table('guardduty') }}
WHERE {{ window('guardduty') }}
  AND id IN {{ event_ids }}
ORDER BY updatedat
LIMIT {{ limit }}
