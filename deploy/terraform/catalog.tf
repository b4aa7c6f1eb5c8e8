# Glue database and Athena workgroup. The tables are generated from glue/*.yaml into
# glue_tables.tf.json by `python -m pipeline.catalog.terraform`; never edit that file by hand.

resource "aws_glue_catalog_database" "trailguard" {
  name        = var.glue_database_name
  description = "trailguard: CloudTrail and GuardDuty tables (partition projection)"
}

resource "aws_athena_workgroup" "trailguard" {
  name          = var.name_prefix
  description   = "trailguard detections: enforced settings, KMS-encrypted results, per-query scan cutoff"
  force_destroy = true

  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.athena_bytes_scanned_cutoff

    engine_version {
      selected_engine_version = "Athena engine version 3"
    }

    result_configuration {
      output_location = "${local.log_bucket_uri}/${local.work_prefix}/athena-results/"

      encryption_configuration {
        encryption_option = "SSE_KMS"
        kms_key_arn       = aws_kms_key.logs.arn
      }
    }
  }

  tags = local.tags
}
