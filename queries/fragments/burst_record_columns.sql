{#- The finding columns plus `ts` (whole seconds, for window frames) and the call's context. -#}
{% include 'fragments/record_columns.sql' %},
    CAST(to_unixtime(try(from_iso8601_timestamp(eventtime))) AS BIGINT) AS ts,
    eventsource AS event_source,
    eventname AS event_name,
    errorcode AS error_code,
    useragent AS user_agent
