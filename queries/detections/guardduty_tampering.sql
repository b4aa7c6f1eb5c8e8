/*
id: guardduty_tampering
title: GuardDuty tampered with
severity: high
attack: [T1562.001]
description: >
  A call to GuardDuty (eventSource guardduty.amazonaws.com) that blinds or mutes it: deleting
  or suspending the detector (DeleteDetector; UpdateDetector with enable = false), leaving or
  dropping the administrator/member relationship (DisassociateFrom{Master,Administrator}Account,
  DeleteMembers, DisassociateMembers, StopMonitoringMembers), trusting attacker addresses
  (CreateIPSet, UpdateIPSet), cutting the findings export (DeletePublishingDestination) or
  auto-archiving findings (CreateFilter / UpdateFilter with action ARCHIVE). Failed calls are
  reported too. Calls of the same name to other services (WAF IP sets, Security Hub or Macie
  members) are not GuardDuty. An UpdateDetector that only changes the publishing frequency or
  one protection feature is not tampering.
runbook: >
  Check the detector (aws guardduty get-detector, list-members, list-ip-sets, list-filters,
  list-publishing-destinations) and undo the change: re-enable the detector, re-invite members,
  delete the trusted IP set or archive filter, restore the export. Then review the caller's
  session and the findings GuardDuty raised (or archived) around the same time.
schedule: 15m
dedup_key: [account_id, region, event_name, principal, detector_id]
tables: [cloudtrail]
*/
WITH {% include 'fragments/actor_records.sql' %}
SELECT
  {% include 'fragments/record_columns.sql' %},
  eventname AS event_name,
  json_extract_scalar(requestparameters, '$.detectorId') AS detector_id,
  coalesce(json_extract_scalar(requestparameters, '$.name'),
           json_extract_scalar(requestparameters, '$.filterName')) AS target_name,
  errorcode AS error_code,
  errormessage AS error_message,
  requestparameters AS request_parameters,
  useragent AS user_agent
FROM actor_records
WHERE {{ window() }}
  AND eventsource = 'guardduty.amazonaws.com'
  AND (
    eventname IN ('DeleteDetector', 'DisassociateFromMasterAccount', 'DisassociateFromAdministratorAccount',
                  'DeleteMembers', 'DisassociateMembers', 'StopMonitoringMembers',
                  'CreateIPSet', 'UpdateIPSet', 'DeletePublishingDestination')
    -- enable is a JSON boolean; json_extract_scalar gives 'false' for it and for a string "false"
    OR (eventname = 'UpdateDetector' AND json_extract_scalar(requestparameters, '$.enable') = 'false')
    OR (eventname IN ('CreateFilter', 'UpdateFilter') AND json_extract_scalar(requestparameters, '$.action') = 'ARCHIVE')
  )
  {{ suppressions() }}
