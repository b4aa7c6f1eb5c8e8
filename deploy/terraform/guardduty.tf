# GuardDuty: detector (S3 and EKS audit log protection), organization auto-enable when this account
# is the delegated administrator, and the export of findings to the log bucket under AWSLogs/,
# which is where the guardduty_findings table reads them.

resource "aws_guardduty_detector" "this" {
  count = var.enable_guardduty ? 1 : 0

  enable                       = true
  finding_publishing_frequency = var.guardduty_finding_frequency

  datasources {
    s3_logs {
      enable = true
    }
    kubernetes {
      audit_logs {
        enable = true
      }
    }
  }

  tags = local.tags
}

resource "aws_guardduty_organization_configuration" "this" {
  count = var.enable_guardduty && var.enable_org_admin ? 1 : 0

  detector_id                      = aws_guardduty_detector.this[0].id
  auto_enable_organization_members = "ALL"

  datasources {
    s3_logs {
      auto_enable = true
    }
    kubernetes {
      audit_logs {
        enable = true
      }
    }
  }
}

resource "aws_guardduty_publishing_destination" "s3" {
  count = var.enable_guardduty && var.enable_guardduty_publishing ? 1 : 0

  detector_id      = aws_guardduty_detector.this[0].id
  destination_type = "S3"
  destination_arn  = local.log_bucket_arn
  kms_key_arn      = aws_kms_key.logs.arn

  depends_on = [aws_s3_bucket_policy.logs]
}
