/*
Around one value of one field (a principal, access key or source IP): what else goes with it. For
each value of `by` (source IPs of a principal, principals behind an IP, ...) the calls, failures,
first and last time, and the accounts touched. `actor` (docs/actors.md) works as a field and as
`by`: the people behind an address, a person's addresses across all their sessions.
*/
WITH {% include 'fragments/actor_records.sql' %}
SELECT
  {{ ident(by) }} AS value,
  count(*) AS events,
  count_if(errorcode IS NOT NULL) AS errors,
  count(DISTINCT eventname) AS distinct_apis,
  min(eventtime) AS first_time,
  max(eventtime) AS last_time,
  array_join(array_sort(array_agg(DISTINCT recipientaccountid)), ',') AS accounts
FROM actor_records
WHERE {{ window() }}
  AND {{ ident(field) }} = {{ value }}
GROUP BY 1
ORDER BY events DESC
