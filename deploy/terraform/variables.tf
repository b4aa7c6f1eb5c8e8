variable "name_prefix" {
  description = "Prefix for every named resource (roles, rules, workgroup, KMS alias)."
  type        = string
  default     = "trailguard"
}

variable "org_id" {
  description = "AWS Organizations id (o-xxxxxxxxxx). The trail writes under AWSLogs/<org_id>/ when it is an organization trail."
  type        = string

  validation {
    condition     = can(regex("^o-[a-z0-9]{10,32}$", var.org_id))
    error_message = "org_id must look like o-abcdefghij."
  }
}

variable "is_organization_trail" {
  description = "Create an organization trail (run in the management account or a delegated CloudTrail administrator)."
  type        = bool
  default     = true
}

variable "accounts" {
  description = "Account ids whose logs the Glue tables project (partition projection enum)."
  type        = list(string)

  validation {
    condition     = length(var.accounts) > 0 && alltrue([for a in var.accounts : can(regex("^[0-9]{12}$", a))])
    error_message = "accounts must be a non-empty list of 12-digit account ids."
  }
}

variable "regions" {
  description = "Regions whose logs the Glue tables project (partition projection enum)."
  type        = list(string)

  validation {
    condition     = length(var.regions) > 0
    error_message = "regions must not be empty."
  }
}

variable "trail_name" {
  description = "Name of the CloudTrail trail."
  type        = string
  default     = "trailguard-org-trail"
}

variable "log_bucket_name" {
  description = "S3 bucket receiving CloudTrail logs and GuardDuty exports (created by this module)."
  type        = string
}

variable "lake_uri" {
  description = "s3://bucket/prefix of the Parquet lake written by `trailguard ingest`; empty means s3://<log bucket>/lake."
  type        = string
  default     = ""
}

variable "work_prefix" {
  description = "Prefix in the log bucket where the runner keeps state, findings and Athena results."
  type        = string
  default     = "trailguard"
}

variable "transition_ia_days" {
  description = "Days before log objects move to STANDARD_IA."
  type        = number
  default     = 30
}

variable "transition_glacier_days" {
  description = "Days before log objects move to GLACIER."
  type        = number
  default     = 365
}

variable "log_expiry_days" {
  description = "Days before log objects expire (0 keeps them forever)."
  type        = number
  default     = 2555

  validation {
    condition     = var.log_expiry_days == 0 || var.log_expiry_days > 365
    error_message = "log_expiry_days must be 0 (never) or longer than the Glacier transition."
  }
}

variable "noncurrent_expiry_days" {
  description = "Days before overwritten/deleted object versions expire."
  type        = number
  default     = 90
}

variable "kms_deletion_window_days" {
  description = "Waiting period before the KMS key is deleted after destroy."
  type        = number
  default     = 30
}

variable "severity_threshold" {
  description = "Minimum GuardDuty severity (0-10) sent to the response function."
  type        = number
  default     = 4
}

variable "dry_run" {
  description = "Passed to the response function: report what would be done, change nothing."
  type        = bool
  default     = true
}

variable "create_functions" {
  description = "Create the runner and response functions from the zips `make package` builds (lambda.tf). false: use runner_function_arn / response_function_arn."
  type        = bool
  default     = true
}

variable "response_function_arn" {
  description = "With create_functions = false: ARN of an existing response Lambda; empty means the GuardDuty rule has no target."
  type        = string
  default     = ""
}

variable "runner_function_arn" {
  description = "With create_functions = false: ARN of an existing runner Lambda (pipeline.lambda_handler.handler); empty means no schedule."
  type        = string
  default     = ""
}

variable "lambda_package_dir" {
  description = "Folder holding trailguard-runner.zip and trailguard-response.zip (`make package`); empty means dist/ of this checkout."
  type        = string
  default     = ""
}

variable "lambda_runtime" {
  description = "Lambda runtime; must match the Python that built the zips (scripts/package_lambda.py checks)."
  type        = string
  default     = "python3.11"
}

variable "lambda_layers" {
  description = "Layer ARNs for both functions (e.g. the AWS SDK for pandas layer when packaging with PACKAGE_ARGS=--no-deps)."
  type        = list(string)
  default     = []
}

# Sized from a measured tick (docs/deploy-quickstart.md, "Sizing"): peak memory and duration of one
# runner tick on demo-sized data, with headroom.
variable "runner_memory_mb" {
  description = "Runner memory (MB); Lambda's CPU share grows with it."
  type        = number
  default     = 1024
}

variable "runner_hot_tier" {
  description = "[schedule] hot_tier of the runner: \"auto\" (on: the zip carries DuckDB and the lake is set), \"true\" or \"false\" (the plain path: each detection an Athena query over the day)."
  type        = string
  default     = "auto"

  validation {
    condition     = contains(["auto", "true", "false"], var.runner_hot_tier)
    error_message = "runner_hot_tier must be \"auto\", \"true\" or \"false\"."
  }
}

# The hot tier's /tmp: each tick's downloaded objects and batch, and the runner's copy of the recent
# batches (docs/incremental-athena.md, "Lambda fit"). A /tmp too small for the copy makes a cold
# runner: correct, more S3 GETs.
variable "runner_ephemeral_storage_mb" {
  description = "Runner /tmp size (MB, 512 to 10240)."
  type        = number
  default     = 2048

  validation {
    condition     = var.runner_ephemeral_storage_mb >= 512 && var.runner_ephemeral_storage_mb <= 10240
    error_message = "runner_ephemeral_storage_mb must be between 512 and 10240 (Lambda's range)."
  }
}

variable "hot_tier_expiry_days" {
  description = "Days the hot tier's batches stay in the lake (a lifecycle rule on the log bucket, when the lake is in it); ticks read back about a day at most."
  type        = number
  default     = 7

  validation {
    condition     = var.hot_tier_expiry_days >= 2
    error_message = "hot_tier_expiry_days must be at least 2: the runner's manifest names batches for two days."
  }
}

variable "runner_timeout_seconds" {
  description = "Runner timeout (s). A tick waits for its Athena queries; keep it below the schedule period."
  type        = number
  default     = 600
}

variable "response_memory_mb" {
  description = "Response function memory (MB)."
  type        = number
  default     = 512
}

variable "response_timeout_seconds" {
  description = "Response function timeout (s)."
  type        = number
  default     = 120
}

variable "runner_max_scan" {
  description = "Per-query scan budget of the runner ([athena] max_scan, e.g. \"50GB\"); empty: none beyond the workgroup cutoff."
  type        = string
  default     = ""
}

variable "runner_validate_log_files" {
  description = "Validate CloudTrail log file digests on each tick ([integrity] validate); needs cloudtrail:ListPublicKeys."
  type        = bool
  default     = true
}

variable "sinks" {
  description = "The [[sinks]] tables for both functions, as objects (TRAILGUARD_SINKS). Secrets by name: webhook_secret, token_secret, routing_key_secret."
  type        = any
  default     = []
}

variable "sink_secrets" {
  description = "Secrets Manager secret names or ARNs the sinks read; both roles may read exactly these."
  type        = list(string)
  default     = []
}

variable "securityhub_sink" {
  description = "A securityhub sink is configured: grant securityhub:BatchImportFindings."
  type        = bool
  default     = false
}

variable "runner_environment" {
  description = "Extra environment for the runner (TRAILGUARD_* overrides: detections, schedule, ...)."
  type        = map(string)
  default     = {}
}

variable "response_environment" {
  description = "Extra environment for the response function (TRAILGUARD_RESPONSE_ALLOW_LIST, ...)."
  type        = map(string)
  default     = {}
}

variable "response_snapshot_volumes" {
  description = "Snapshot a quarantined instance's EBS volumes as evidence."
  type        = bool
  default     = false
}

variable "log_retention_days" {
  description = "Retention of the functions' CloudWatch log groups."
  type        = number
  default     = 90
}

variable "alarm_topic_arns" {
  description = "SNS topics notified by the alarms (errors; runner not succeeding)."
  type        = list(string)
  default     = []
}

variable "alarm_period_seconds" {
  description = "Period of the alarms; match the runner schedule (15 minutes by default)."
  type        = number
  default     = 900
}

variable "runner_stalled_periods" {
  description = "Alarm when the runner has had no successful tick for this many periods."
  type        = number
  default     = 4
}

variable "runner_schedule" {
  description = "Schedule expression for the runner, e.g. rate(15 minutes) or cron(0/15 * * * ? *)."
  type        = string
  default     = "rate(15 minutes)"
}

variable "manage_lambda_permissions" {
  description = "With create_functions = false: grant EventBridge permission to invoke the given response function (it must exist in this account)."
  type        = bool
  default     = true
}

variable "athena_bytes_scanned_cutoff" {
  description = "Per-query bytes-scanned cutoff of the Athena workgroup (minimum 10 MB)."
  type        = number
  default     = 10737418240

  validation {
    condition     = var.athena_bytes_scanned_cutoff >= 10485760
    error_message = "Athena requires a cutoff of at least 10485760 bytes."
  }
}

variable "glue_database_name" {
  description = "Glue database holding the trailguard tables."
  type        = string
  default     = "trailguard"
}

variable "projection_start" {
  description = "First day (yyyy/MM/dd) of the day partition projection."
  type        = string
  default     = "2020/01/01"
}

variable "enable_guardduty" {
  description = "Create the GuardDuty detector in this account and region."
  type        = bool
  default     = true
}

variable "enable_org_admin" {
  description = "This account is the GuardDuty delegated administrator: auto-enable GuardDuty (and S3/EKS protection) for all members."
  type        = bool
  default     = false
}

variable "enable_guardduty_publishing" {
  description = "Export GuardDuty findings to the log bucket (KMS-encrypted), which the guardduty_findings table reads."
  type        = bool
  default     = true
}

variable "guardduty_finding_frequency" {
  description = "How often GuardDuty publishes updated findings: FIFTEEN_MINUTES, ONE_HOUR or SIX_HOURS."
  type        = string
  default     = "FIFTEEN_MINUTES"
}

variable "tags" {
  description = "Tags for every resource that takes them."
  type        = map(string)
  default     = {}
}

variable "deny_insecure_transport" {
  description = "Bucket policy denies every request not made over TLS. Leave on; only tests against a local emulator (which ignores the condition and would deny everything) turn it off."
  type        = bool
  default     = true
}
