{#- Sliding-window burst over the CTE named `burst_source` (rows with a BIGINT `ts` in seconds),
    per `burst_key` columns: `threshold` rows within `window_minutes`, window ends included.
    Defines the CTEs `starts` and `covered`; select `FROM covered WHERE burst_start IS NOT NULL`. -#}
starts AS (
  -- A row starts a qualifying window when `threshold` rows of its key fall in [ts, ts + window].
  SELECT *,
    count(*) OVER (PARTITION BY {{ ident(burst_key) }} ORDER BY ts
                   RANGE BETWEEN CURRENT ROW AND {{ window_minutes * 60 }} FOLLOWING) AS in_window
  FROM {{ ident(burst_source) }}
),
covered AS (
  -- A row belongs to a burst when a qualifying window started at most `window_minutes` before it.
  SELECT *,
    max(CASE WHEN in_window >= {{ threshold }} THEN ts END)
      OVER (PARTITION BY {{ ident(burst_key) }} ORDER BY ts
            RANGE BETWEEN {{ window_minutes * 60 }} PRECEDING AND CURRENT ROW) AS burst_start
  FROM starts
)
