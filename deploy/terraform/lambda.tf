# The two functions, built by `make package` (dist/trailguard-runner.zip, dist/trailguard-response.zip):
#   runner   pipeline.lambda_handler.handler     one scheduler tick on Athena, invoked by the schedule;
#                                                with DuckDB in its zip and the lake set, the hot tier
#                                                (docs/incremental-athena.md) is on by default
#   response pipeline.response.handler.handler   GuardDuty findings from EventBridge; dry-run by default
# Each zip goes to the log bucket first (a runner with its dependencies is over Lambda's 50 MB
# direct-upload limit); source_code_hash is the zip's SHA-256, and the zips are reproducible, so a
# rebuild from the same checkout plans no change. With create_functions = false, nothing here is
# created and runner_function_arn / response_function_arn name functions that exist already.

locals {
  package_dir = var.lambda_package_dir != "" ? var.lambda_package_dir : "${path.module}/../../dist"
  functions = var.create_functions ? {
    runner = {
      zip     = "trailguard-runner.zip"
      handler = "pipeline.lambda_handler.handler"
      role    = aws_iam_role.runner.arn
      memory  = var.runner_memory_mb
      timeout = var.runner_timeout_seconds
      storage = var.runner_ephemeral_storage_mb
      environment = merge({
        TRAILGUARD_ENGINE             = "athena"
        TRAILGUARD_SOURCE             = local.log_bucket_uri
        TRAILGUARD_CATALOG_LAKE_URI   = local.lake_uri
        TRAILGUARD_SCHEDULE_HOT_TIER  = var.runner_hot_tier
        TRAILGUARD_ORG_ID             = var.org_id
        TRAILGUARD_STATE              = local.state_uri
        TRAILGUARD_FINDINGS_STORE     = local.findings_uri
        TRAILGUARD_DATA_DIR           = "/tmp/trailguard"
        TRAILGUARD_CATALOG_DATABASE   = var.glue_database_name
        TRAILGUARD_CATALOG_ACCOUNTS   = jsonencode(var.accounts)
        TRAILGUARD_CATALOG_REGIONS    = jsonencode(var.regions)
        TRAILGUARD_ATHENA_WORKGROUP   = aws_athena_workgroup.trailguard.name
        TRAILGUARD_ATHENA_REGION      = local.region
        TRAILGUARD_ATHENA_MAX_SCAN    = var.runner_max_scan
        TRAILGUARD_INTEGRITY_VALIDATE = tostring(var.runner_validate_log_files)
        TRAILGUARD_SINKS              = jsonencode(var.sinks)
      }, var.runner_environment)
    }
    response = {
      zip     = "trailguard-response.zip"
      handler = "pipeline.response.handler.handler"
      role    = aws_iam_role.response.arn
      memory  = var.response_memory_mb
      timeout = var.response_timeout_seconds
      storage = 512
      environment = merge({
        TRAILGUARD_DATA_DIR                        = "/tmp/trailguard"
        TRAILGUARD_RESPONSE_DRY_RUN                = tostring(var.dry_run)
        TRAILGUARD_RESPONSE_AUDIT_LOG              = local.audit_uri
        TRAILGUARD_RESPONSE_SNAPSHOT_VOLUMES       = tostring(var.response_snapshot_volumes)
        TRAILGUARD_RESPONSE_MIN_GUARDDUTY_SEVERITY = tostring(var.severity_threshold)
        TRAILGUARD_SINKS                           = jsonencode(var.sinks)
      }, var.response_environment)
    }
  } : {}
}

resource "aws_s3_object" "package" {
  for_each = local.functions

  bucket      = aws_s3_bucket.logs.id
  key         = "${local.work_prefix}/lambda/${each.value.zip}"
  source      = "${local.package_dir}/${each.value.zip}"
  source_hash = filebase64sha256("${local.package_dir}/${each.value.zip}")
  tags        = local.tags

  depends_on = [aws_s3_bucket_server_side_encryption_configuration.logs, aws_s3_bucket_policy.logs]
}

resource "aws_cloudwatch_log_group" "function" {
  for_each = local.functions

  name              = "/aws/lambda/${var.name_prefix}-${each.key}"
  retention_in_days = var.log_retention_days
  tags              = local.tags
}

resource "aws_sqs_queue" "failures" {
  count = var.create_functions ? 1 : 0

  name                      = "${var.name_prefix}-function-failures"
  message_retention_seconds = 1209600 # 14 days, the most SQS keeps: time to look at a failed event
  sqs_managed_sse_enabled   = true
  tags                      = local.tags
}

resource "aws_lambda_function" "this" {
  for_each = local.functions

  function_name    = "${var.name_prefix}-${each.key}"
  description      = "trailguard ${each.key} (${each.value.handler})"
  role             = each.value.role
  handler          = each.value.handler
  runtime          = var.lambda_runtime
  architectures    = ["x86_64"]
  memory_size      = each.value.memory
  timeout          = each.value.timeout
  s3_bucket        = aws_s3_object.package[each.key].bucket
  s3_key           = aws_s3_object.package[each.key].key
  source_code_hash = filebase64sha256("${local.package_dir}/${each.value.zip}")
  layers           = var.lambda_layers

  # Ticks must not overlap: the state store is read-modify-write per detection.
  reserved_concurrent_executions = each.key == "runner" ? 1 : -1

  ephemeral_storage {
    size = each.value.storage
  }

  environment {
    variables = each.value.environment
  }

  tags = local.tags

  depends_on = [aws_cloudwatch_log_group.function, aws_iam_role_policy.runner, aws_iam_role_policy.response]
}

# Asynchronous invocations (the schedule, EventBridge) that still fail after Lambda's retries go
# to the queue with the event and the error, so nothing is lost silently.
resource "aws_lambda_function_event_invoke_config" "this" {
  for_each = local.functions

  function_name          = aws_lambda_function.this[each.key].function_name
  maximum_retry_attempts = 2

  destination_config {
    on_failure {
      destination = aws_sqs_queue.failures[0].arn
    }
  }
}

# --- alarms -----------------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "errors" {
  for_each = local.functions

  alarm_name          = "${var.name_prefix}-${each.key}-errors"
  alarm_description   = "trailguard ${each.key}: an invocation failed (see /aws/lambda/${var.name_prefix}-${each.key})"
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.this[each.key].function_name }
  statistic           = "Sum"
  period              = var.alarm_period_seconds
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_topic_arns
  ok_actions          = var.alarm_topic_arns
  tags                = local.tags
}

# No successful tick for N periods: invocations minus errors stays below one. Missing data (the
# schedule stopped, the function is throttled) counts as breaching, which is the point.
resource "aws_cloudwatch_metric_alarm" "runner_stalled" {
  count = var.create_functions ? 1 : 0

  alarm_name          = "${var.name_prefix}-runner-not-succeeding"
  alarm_description   = "trailguard runner: no successful tick in ${var.runner_stalled_periods} periods of ${var.alarm_period_seconds} s"
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  evaluation_periods  = var.runner_stalled_periods
  datapoints_to_alarm = var.runner_stalled_periods
  treat_missing_data  = "breaching"
  alarm_actions       = var.alarm_topic_arns
  ok_actions          = var.alarm_topic_arns
  tags                = local.tags

  metric_query {
    id          = "successes"
    expression  = "invocations - errors"
    label       = "successful ticks"
    return_data = true
  }

  metric_query {
    id = "invocations"
    metric {
      namespace   = "AWS/Lambda"
      metric_name = "Invocations"
      dimensions  = { FunctionName = aws_lambda_function.this["runner"].function_name }
      period      = var.alarm_period_seconds
      stat        = "Sum"
    }
  }

  metric_query {
    id = "errors"
    metric {
      namespace   = "AWS/Lambda"
      metric_name = "Errors"
      dimensions  = { FunctionName = aws_lambda_function.this["runner"].function_name }
      period      = var.alarm_period_seconds
      stat        = "Sum"
    }
  }
}
