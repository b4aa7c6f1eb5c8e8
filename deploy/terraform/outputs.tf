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

output "runner_environment" {
  description = "Environment for the runner Lambda."
  value = {
    TRAILGUARD_ENGINE         = "athena"
    TRAILGUARD_SOURCE         = local.log_bucket_uri
    TRAILGUARD_STATE          = "${local.log_bucket_uri}/${local.work_prefix}/state"
    TRAILGUARD_FINDINGS_STORE = "${local.log_bucket_uri}/${local.work_prefix}/findings"
  }
}

output "response_environment" {
  description = "Environment for the response Lambda."
  value = {
    TRAILGUARD_DRY_RUN = tostring(var.dry_run)
  }
}
