# Least-privilege roles: the runner (scheduled detections on Athena), the response function
# (quarantine, key deactivation, public access block) and EventBridge Scheduler (invoke the runner).

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

locals {
  lake_bucket_arn   = "arn:${local.partition}:s3:::${local.lake_bucket}"
  lake_objects      = local.lake_key_prefix == "" ? "${local.lake_bucket_arn}/*" : "${local.lake_bucket_arn}/${local.lake_key_prefix}/*"
  lake_hot_objects  = "${local.lake_bucket_arn}/${local.lake_hot_prefix}*"
  glue_database_arn = "arn:${local.partition}:glue:${local.region}:${local.account_id}:database/${var.glue_database_name}"
  glue_tables_arn   = "arn:${local.partition}:glue:${local.region}:${local.account_id}:table/${var.glue_database_name}/*"
  glue_catalog_arn  = "arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog"
  log_group_arn     = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/lambda/${var.name_prefix}-*"
  # Built from its name (not the resource) so the roles exist before the queue and the functions.
  failures_queue_arn = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${var.name_prefix}-function-failures"
}

# What each role may do is what the code does, and nothing else: tests/deploy/test_permissions.py
# records every AWS call of a runner tick on Athena and of each response action (boto3 event
# hooks, against moto) and evaluates them against these policies as `terraform apply` wrote them.
# A needed action missing, or an action no code path takes, fails that test.

locals {
  # Secrets Manager secrets the sinks read (token_secret, routing_key_secret, webhook_secret);
  # a name without an ARN gets the random suffix Secrets Manager appends.
  sink_secret_arns = [for s in var.sink_secrets :
    startswith(s, "arn:") ? s : "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:${s}-*"
  ]
}

# Both functions: the sinks they deliver to (secrets, Security Hub) and what the Lambda service
# takes with their role: logs to the group lambda.tf made, failed asynchronous invocations to the
# dead-letter queue. Each role's document starts from this one (source_policy_documents).
data "aws_iam_policy_document" "function_common" {
  dynamic "statement" {
    for_each = length(local.sink_secret_arns) > 0 ? [1] : []
    content {
      sid       = "SinkSecrets"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = local.sink_secret_arns
    }
  }

  dynamic "statement" {
    for_each = var.securityhub_sink ? [1] : []
    content {
      sid       = "SecurityHubSink"
      actions   = ["securityhub:BatchImportFindings"]
      resources = ["arn:${local.partition}:securityhub:${local.region}:${local.account_id}:product/${local.account_id}/default"]
    }
  }

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [local.log_group_arn, "${local.log_group_arn}:*"]
  }

  statement {
    sid       = "DeadLetterQueue"
    actions   = ["sqs:SendMessage"]
    resources = [local.failures_queue_arn]
  }
}

# --- runner ---------------------------------------------------------------------------------

resource "aws_iam_role" "runner" {
  name               = "${var.name_prefix}-runner"
  description        = "trailguard runner: Athena detections over the log bucket"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = local.tags
}

data "aws_iam_policy_document" "runner" {
  source_policy_documents = [data.aws_iam_policy_document.function_common.json]

  # Athena reads the tables' objects with the caller's permissions; log file validation reads digests.
  statement {
    sid       = "ReadLogs"
    actions   = ["s3:GetObject"]
    resources = ["${local.log_bucket_arn}/AWSLogs/*", local.lake_objects]
  }

  # The scan budget lists the partitions a query names; Athena lists and locates them too.
  statement {
    sid       = "ListBuckets"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = distinct([local.log_bucket_arn, local.lake_bucket_arn])
  }

  # The hot tier: each tick's batch of new deliveries as Parquet, its manifest, and the files a
  # killed tick wrote but never recorded (deleted by the next one).
  dynamic "statement" {
    for_each = var.runner_hot_tier == "false" ? [] : [1]
    content {
      sid       = "HotTier"
      actions   = ["s3:PutObject", "s3:DeleteObject"]
      resources = [local.lake_hot_objects]
    }
  }

  # State store, findings store and Athena query results (written by Athena as the caller).
  statement {
    sid       = "StateFindingsAndResults"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = ["${local.log_bucket_arn}/${local.work_prefix}/*"]
  }

  statement {
    sid       = "DecryptLogs"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.logs.arn]
  }

  # Not StopQueryExecution: the engine cancels a query only on Ctrl-C, which a Lambda never gets.
  statement {
    sid = "AthenaWorkgroup"
    actions = [
      "athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults",
      "athena:GetWorkGroup",
    ]
    resources = [aws_athena_workgroup.trailguard.arn]
  }

  # What Athena asks Glue for, as the caller, to plan a query on a partition-projected table.
  statement {
    sid       = "GlueCatalogRead"
    actions   = ["glue:GetDatabase", "glue:GetTable"]
    resources = [local.glue_catalog_arn, local.glue_database_arn, local.glue_tables_arn]
  }

  # Log file validation without a key file: CloudTrail's public keys (no resource-level permission).
  dynamic "statement" {
    for_each = var.runner_validate_log_files ? [1] : []
    content {
      sid       = "CloudTrailPublicKeys"
      actions   = ["cloudtrail:ListPublicKeys"]
      resources = ["*"]
    }
  }

}

resource "aws_iam_role_policy" "runner" {
  name   = "${var.name_prefix}-runner"
  role   = aws_iam_role.runner.id
  policy = data.aws_iam_policy_document.runner.json
}

# --- response function ----------------------------------------------------------------------

resource "aws_iam_role" "response" {
  name               = "${var.name_prefix}-response"
  description        = "trailguard response: quarantine instances, deactivate keys, block public buckets"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = local.tags
}

data "aws_iam_policy_document" "response" {
  source_policy_documents = [data.aws_iam_policy_document.function_common.json]

  # EC2 has no resource-level permissions for Describe*; the changes could be narrowed by tag, but a
  # compromised instance is by definition not one we tagged in advance.
  statement {
    sid       = "Ec2Describe"
    actions   = ["ec2:DescribeInstances", "ec2:DescribeSecurityGroups", "ec2:DescribeSnapshots"]
    resources = ["*"]
  }

  # Quarantine: the group (created once per VPC, its rules stripped, including ingress someone
  # added to disarm it), the network interfaces moved into it, the tag, and evidence snapshots.
  statement {
    sid = "Ec2Quarantine"
    actions = [
      "ec2:CreateSecurityGroup", "ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress",
      "ec2:ModifyNetworkInterfaceAttribute", "ec2:CreateTags", "ec2:CreateSnapshot",
    ]
    resources = ["*"]
  }

  # Key deactivation: whose key it is (GetAccessKeyLastUsed), the user (allow-list by ARN), its
  # keys, and the deactivation itself. Never DeleteAccessKey.
  statement {
    sid       = "IamKeys"
    actions   = ["iam:GetAccessKeyLastUsed", "iam:GetUser", "iam:ListAccessKeys", "iam:UpdateAccessKey"]
    resources = ["arn:${local.partition}:iam::${local.account_id}:user/*"]
  }

  # HeadBucket (does the bucket exist when it has no public access block yet) needs s3:ListBucket.
  statement {
    sid       = "S3BlockPublic"
    actions   = ["s3:GetBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock", "s3:ListBucket"]
    resources = ["arn:${local.partition}:s3:::*"]
  }

  # The audit log: one object per invocation under <work prefix>/response-audit/ (SSE-KMS bucket).
  statement {
    sid       = "AuditLog"
    actions   = ["s3:PutObject"]
    resources = ["${local.log_bucket_arn}/${local.work_prefix}/response-audit/*"]
  }

  statement {
    sid       = "AuditLogEncrypt"
    actions   = ["kms:GenerateDataKey"]
    resources = [aws_kms_key.logs.arn]
  }

}

resource "aws_iam_role_policy" "response" {
  name   = "${var.name_prefix}-response"
  role   = aws_iam_role.response.id
  policy = data.aws_iam_policy_document.response.json
}

# --- EventBridge Scheduler -> runner --------------------------------------------------------

data "aws_iam_policy_document" "scheduler_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  count = local.has_runner ? 1 : 0

  name               = "${var.name_prefix}-scheduler"
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume.json
  tags               = local.tags
}

data "aws_iam_policy_document" "scheduler" {
  count = local.has_runner ? 1 : 0

  statement {
    actions   = ["lambda:InvokeFunction"]
    resources = [local.runner_arn, "${local.runner_arn}:*"]
  }
}

resource "aws_iam_role_policy" "scheduler" {
  count = local.has_runner ? 1 : 0

  name   = "${var.name_prefix}-scheduler"
  role   = aws_iam_role.scheduler[0].id
  policy = data.aws_iam_policy_document.scheduler[0].json
}
