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
  lake_key_prefix   = trim(replace(trimprefix(local.lake_uri, "s3://"), "/^[^/]+/?/", ""), "/")
  lake_objects      = local.lake_key_prefix == "" ? "${local.lake_bucket_arn}/*" : "${local.lake_bucket_arn}/${local.lake_key_prefix}/*"
  glue_database_arn = "arn:${local.partition}:glue:${local.region}:${local.account_id}:database/${var.glue_database_name}"
  glue_tables_arn   = "arn:${local.partition}:glue:${local.region}:${local.account_id}:table/${var.glue_database_name}/*"
  glue_catalog_arn  = "arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog"
  log_group_arn     = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/lambda/${var.name_prefix}-*"
}

# --- runner ---------------------------------------------------------------------------------

resource "aws_iam_role" "runner" {
  name               = "${var.name_prefix}-runner"
  description        = "trailguard runner: Athena detections over the log bucket"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = local.tags
}

data "aws_iam_policy_document" "runner" {
  statement {
    sid       = "ReadLogs"
    actions   = ["s3:GetObject"]
    resources = ["${local.log_bucket_arn}/AWSLogs/*", local.lake_objects]
  }

  statement {
    sid       = "ListBuckets"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = distinct([local.log_bucket_arn, local.lake_bucket_arn])
  }

  statement {
    sid       = "StateFindingsAndResults"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = ["${local.log_bucket_arn}/${local.work_prefix}/*"]
  }

  statement {
    sid       = "DecryptLogs"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [aws_kms_key.logs.arn]
  }

  statement {
    sid = "AthenaWorkgroup"
    actions = [
      "athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults",
      "athena:StopQueryExecution", "athena:GetWorkGroup",
    ]
    resources = [aws_athena_workgroup.trailguard.arn]
  }

  statement {
    sid       = "GlueCatalogRead"
    actions   = ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartition", "glue:GetPartitions"]
    resources = [local.glue_catalog_arn, local.glue_database_arn, local.glue_tables_arn]
  }

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [local.log_group_arn, "${local.log_group_arn}:*"]
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
  statement {
    sid = "Ec2Describe"
    actions = [
      "ec2:DescribeInstances", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups",
      "ec2:DescribeVolumes", "ec2:DescribeSnapshots", "ec2:DescribeVpcs",
    ]
    resources = ["*"]
  }

  statement {
    sid = "Ec2Quarantine"
    actions = [
      "ec2:CreateSecurityGroup", "ec2:RevokeSecurityGroupEgress", "ec2:ModifyInstanceAttribute",
      "ec2:ModifyNetworkInterfaceAttribute", "ec2:CreateTags", "ec2:CreateSnapshot",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "IamKeys"
    actions   = ["iam:ListAccessKeys", "iam:UpdateAccessKey"]
    resources = ["arn:${local.partition}:iam::${local.account_id}:user/*"]
  }

  statement {
    sid       = "S3BlockPublic"
    actions   = ["s3:PutBucketPublicAccessBlock", "s3:GetBucketPublicAccessBlock"]
    resources = ["arn:${local.partition}:s3:::*"]
  }

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [local.log_group_arn, "${local.log_group_arn}:*"]
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
    resources = [var.runner_function_arn, "${var.runner_function_arn}:*"]
  }
}

resource "aws_iam_role_policy" "scheduler" {
  count = local.has_runner ? 1 : 0

  name   = "${var.name_prefix}-scheduler"
  role   = aws_iam_role.scheduler[0].id
  policy = data.aws_iam_policy_document.scheduler[0].json
}
