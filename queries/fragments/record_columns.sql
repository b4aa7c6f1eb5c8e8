eventid AS event_id,
  eventtime AS event_time,
  recipientaccountid AS account_id,
  awsregion AS region,
  useridentity.arn AS principal,
  sourceipaddress AS source_ip,
  actor,
  actor_type
