# GuardDuty findings at or above the severity threshold -> the response function;
# a schedule -> the runner (`trailguard run`'s Lambda entry point, pipeline.lambda_handler).

locals {
  guardduty_pattern = {
    source      = ["aws.guardduty"]
    detail-type = ["GuardDuty Finding"]
    detail = {
      severity = [{ numeric = [">=", var.severity_threshold] }]
    }
  }
  # The functions lambda.tf creates, or (create_functions = false) ones named by ARN.
  has_response = var.create_functions || var.response_function_arn != ""
  has_runner   = var.create_functions || var.runner_function_arn != ""
  response_arn = var.create_functions ? try(aws_lambda_function.this["response"].arn, "") : var.response_function_arn
  runner_arn   = var.create_functions ? try(aws_lambda_function.this["runner"].arn, "") : var.runner_function_arn
}

resource "aws_cloudwatch_event_rule" "guardduty_findings" {
  name          = "${var.name_prefix}-guardduty-findings"
  description   = "GuardDuty findings of severity >= ${var.severity_threshold} to the trailguard response function"
  event_pattern = jsonencode(local.guardduty_pattern)
  tags          = local.tags
}

resource "aws_cloudwatch_event_target" "response" {
  count = local.has_response ? 1 : 0

  rule      = aws_cloudwatch_event_rule.guardduty_findings.name
  target_id = "trailguard-response"
  arn       = local.response_arn
}

resource "aws_lambda_permission" "response" {
  count = local.has_response && (var.create_functions || var.manage_lambda_permissions) ? 1 : 0

  statement_id  = "${var.name_prefix}-guardduty-findings"
  action        = "lambda:InvokeFunction"
  function_name = local.response_arn
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.guardduty_findings.arn
}

resource "aws_scheduler_schedule" "runner" {
  count = local.has_runner ? 1 : 0

  name                = "${var.name_prefix}-runner"
  description         = "trailguard run: one scheduler tick on Athena"
  schedule_expression = var.runner_schedule

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = local.runner_arn
    role_arn = aws_iam_role.scheduler[0].arn

    retry_policy {
      maximum_retry_attempts = 2
    }
  }
}
