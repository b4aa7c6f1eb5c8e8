{#- What an investigator reads first about a GuardDuty finding (hunts and `findings show`). -#}
id AS finding_id,
  updatedat AS updated_at,
  accountid AS account_id,
  finding_region AS region,
  type AS finding_type,
  severity,
  title
