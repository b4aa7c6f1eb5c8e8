/*
id: iam_login_profile_changed
title: Console password created or reset for another IAM user
severity: high
attack: [T1098.001, T1078.004]
stratus: [aws.persistence.iam-create-user-login-profile, aws.privilege-escalation.iam-update-user-login-profile]
description: >
  A successful CreateLoginProfile (a console password given to a user that had none) or
  UpdateLoginProfile (a password reset) where the target user is not the caller: whoever sets
  another user's password can sign in as that user. A user changing their own password
  (ChangePassword, or UpdateLoginProfile on themselves) is not reported; help-desk roles that
  reset passwords for a living are tuned with a suppression.
runbook: >
  1. Ask the target user (target_user) whether they asked for a new password; check whether the
     caller is a help-desk or identity-team principal.
  2. If not expected, delete the login profile (aws iam delete-login-profile) or reset it to an
     unknown value, look for ConsoleLogin by the target user after this call, and review the
     caller's session.
schedule: 15m
dedup_key: [account_id, target_user, event_name]
tables: [cloudtrail]
*/
WITH {% include 'fragments/actor_records.sql' %}
SELECT
  {% include 'fragments/record_columns.sql' %},
  eventname AS event_name,
  json_extract_scalar(requestparameters, '$.userName') AS target_user,
  json_extract_scalar(requestparameters, '$.passwordResetRequired') AS password_reset_required,
  useragent AS user_agent
FROM actor_records
WHERE {{ window() }}
  AND eventsource = 'iam.amazonaws.com'
  AND eventname IN ('CreateLoginProfile', 'UpdateLoginProfile')
  AND errorcode IS NULL
  AND json_extract_scalar(requestparameters, '$.userName') IS NOT NULL
  AND (useridentity.type <> 'IAMUser'
       OR useridentity.username IS DISTINCT FROM json_extract_scalar(requestparameters, '$.userName'))
  AND {% include 'fragments/not_aws_service.sql' %}
  {{ suppressions() }}
