# trailguard: the AWS side of the pipeline. Resources are split by concern:
#   trail.tf       KMS key, log bucket, organization trail
#   guardduty.tf   detector, organization auto-enable, publishing destination
#   catalog.tf     Glue database, Athena workgroup (tables: glue_tables.tf.json, generated)
#   eventbridge.tf GuardDuty findings -> response function, schedule -> runner
#   lambda.tf      runner and response functions (from `make package`), log groups, DLQ, alarms
#   iam.tf         runner, response and scheduler roles

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  trail_arn = "arn:${local.partition}:cloudtrail:${local.region}:${local.account_id}:trail/${var.trail_name}"

  log_bucket_arn  = "arn:${local.partition}:s3:::${var.log_bucket_name}"
  log_bucket_uri  = "s3://${var.log_bucket_name}"
  lake_uri        = var.lake_uri != "" ? trimsuffix(var.lake_uri, "/") : "${local.log_bucket_uri}/lake"
  lake_bucket     = split("/", trimprefix(local.lake_uri, "s3://"))[0]
  lake_key_prefix = trim(replace(trimprefix(local.lake_uri, "s3://"), "/^[^/]+/?/", ""), "/")
  # The runner's hot tier (lambda.tf): its batches, expired by the log bucket's lifecycle (trail.tf)
  # when the lake is in that bucket; a lake in another bucket is yours to manage.
  lake_hot_prefix        = local.lake_key_prefix == "" ? "cloudtrail_hot/" : "${local.lake_key_prefix}/cloudtrail_hot/"
  hot_tier_in_log_bucket = var.runner_hot_tier != "false" && local.lake_bucket == var.log_bucket_name

  # Used by the generated Glue tables: "o-xxxx/" for an organization trail.
  cloudtrail_org_path = var.is_organization_trail ? "${var.org_id}/" : ""

  work_prefix  = trim(var.work_prefix, "/")
  work_uri     = "${local.log_bucket_uri}/${local.work_prefix}"
  state_uri    = "${local.work_uri}/state"
  findings_uri = "${local.work_uri}/findings"
  audit_uri    = "${local.work_uri}/response-audit"

  tags = merge({ "trailguard:managed-by" = "terraform" }, var.tags)
}
