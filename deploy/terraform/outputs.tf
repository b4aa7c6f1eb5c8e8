output "log_bucket" {
  description = "Bucket receiving CloudTrail logs and GuardDuty exports."
  value       = aws_s3_bucket.logs.bucket
}

output "trailguard_source" {
  description = "Value for `source` in trailguard.toml (TRAILGUARD_SOURCE)."
  value       = local.log_bucket_uri
}

output "trail_arn" {
  value = aws_cloudtrail.org.arn
}

output "kms_key_arn" {
  description = "Key encrypting the trail, the GuardDuty export and Athena results."
  value       = aws_kms_key.logs.arn
}

output "guardduty_detector_id" {
  value = var.enable_guardduty ? aws_guardduty_detector.this[0].id : null
}

output "glue_database" {
  value = aws_glue_catalog_database.trailguard.name
}

output "athena_workgroup" {
  value = aws_athena_workgroup.trailguard.name
}

output "runner_role_arn" {
  description = "Execution role for the runner Lambda (pipeline.lambda_handler.handler)."
  value       = aws_iam_role.runner.arn
}

output "response_role_arn" {
  description = "Execution role for the response Lambda."
  value       = aws_iam_role.response.arn
}

output "runner_function_arn" {
  description = "The runner function the schedule invokes."
  value       = local.has_runner ? local.runner_arn : null
}

output "response_function_arn" {
  description = "The response function the GuardDuty findings rule targets."
  value       = local.has_response ? local.response_arn : null
}

output "failures_queue_url" {
  description = "Dead-letter queue of both functions (failed asynchronous invocations)."
  value       = var.create_functions ? aws_sqs_queue.failures[0].url : null
}

output "runner_environment" {
  description = "Environment of the runner Lambda (also what a hand-made one needs)."
  value = {
    TRAILGUARD_ENGINE         = "athena"
    TRAILGUARD_SOURCE         = local.log_bucket_uri
    TRAILGUARD_STATE          = local.state_uri
    TRAILGUARD_FINDINGS_STORE = local.findings_uri
  }
}

output "response_environment" {
  description = "Environment of the response Lambda."
  value = {
    TRAILGUARD_RESPONSE_DRY_RUN   = tostring(var.dry_run)
    TRAILGUARD_RESPONSE_AUDIT_LOG = local.audit_uri
  }
}

output "doctor_config" {
  description = "Keys for trailguard.toml so `trailguard doctor` checks this deployment."
  value = {
    trail         = var.trail_name
    rule          = aws_cloudwatch_event_rule.guardduty_findings.name
    response      = local.has_response ? local.response_arn : ""
    workgroup     = aws_athena_workgroup.trailguard.name
    state         = local.state_uri
    regions       = var.regions
    export_bucket = var.log_bucket_name
  }
}
