/*
purpose: Rewrite one delivery day of the raw CloudTrail table as zstd Parquet, for `trailguard compact --engine athena`.
why UNLOAD: INSERT INTO a partition-projected table writes Hive-style folders (account=.../day=...), which the
  projection's storage.location.template never reads; UNLOAD writes where we say, and pipeline/athena_compact.py
  moves each account/region folder to the Parquet table's own layout.
partitions: the day is the raw table's partition (delivery day), not the event day, so the Parquet table has
  exactly the raw table's partitions and the same window() predicate prunes both.
*/
UNLOAD (
  SELECT {{ ident(columns) }}, account, region
  FROM {{ table('cloudtrail') }}
  WHERE day = {{ day }}
)
TO {{ staging }}
WITH (format = 'PARQUET', compression = 'ZSTD', partitioned_by = ARRAY['account', 'region'])
