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

variable "response_function_arn" {
  description = "ARN of the response Lambda; empty means the GuardDuty rule has no target."
  type        = string
  default     = ""
}

variable "runner_function_arn" {
  description = "ARN of the runner Lambda (pipeline.lambda_handler.handler); empty means no schedule."
  type        = string
  default     = ""
}

variable "runner_schedule" {
  description = "Schedule expression for the runner, e.g. rate(15 minutes) or cron(0/15 * * * ? *)."
  type        = string
  default     = "rate(15 minutes)"
}

variable "manage_lambda_permissions" {
  description = "Grant EventBridge permission to invoke the given functions (needs them to exist in this account)."
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
