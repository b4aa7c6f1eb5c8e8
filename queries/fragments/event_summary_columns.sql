{#- What an investigator reads first about a CloudTrail record: when, where, what, whether it
    failed, and who (hunts and `findings show`). -#}
eventtime AS event_time,
  recipientaccountid AS account_id,
  awsregion AS region,
  eventsource AS event_source,
  eventname AS event_name,
  errorcode AS error_code,
  useridentity.arn AS principal
