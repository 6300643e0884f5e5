# ---------------------------------------------------------------------------------------------
# Custom plugin: the Debezium PostgreSQL connector (plus the Secrets Manager config provider),
# zipped, in a private, versioned, encrypted S3 bucket.
# ---------------------------------------------------------------------------------------------
resource "aws_s3_bucket" "plugins" {
  bucket_prefix = "${var.name}-connect-plugins-"
}

resource "aws_s3_bucket_public_access_block" "plugins" {
  bucket                  = aws_s3_bucket.plugins.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "plugins" {
  bucket = aws_s3_bucket.plugins.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "plugins" {
  bucket = aws_s3_bucket.plugins.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_object" "debezium_plugin" {
  bucket       = aws_s3_bucket.plugins.id
  key          = "debezium-connector-postgres-${var.debezium_version}.zip"
  source       = var.debezium_plugin_zip_path
  source_hash  = filemd5(var.debezium_plugin_zip_path)
  content_type = "application/zip"

  # The plugin points at an object version, so versioning must be on first.
  depends_on = [aws_s3_bucket_versioning.plugins]
}

resource "aws_mskconnect_custom_plugin" "debezium" {
  name         = "${var.name}-debezium-postgres-${replace(lower(var.debezium_version), ".", "-")}"
  description  = "Debezium PostgreSQL connector ${var.debezium_version} with the MSK Secrets Manager config provider"
  content_type = "ZIP"

  location {
    s3 {
      bucket_arn     = aws_s3_bucket.plugins.arn
      file_key       = aws_s3_object.debezium_plugin.key
      object_version = aws_s3_object.debezium_plugin.version_id
    }
  }
}

# ---------------------------------------------------------------------------------------------
# Worker configuration: JSON converters with schemas (the indexer reads Debezium's schema to
# map PostgreSQL types exactly), and the Secrets Manager config provider that resolves
# ${secretsmanager:<url-encoded secret ARN>:<key>} references in the connector configuration.
# ---------------------------------------------------------------------------------------------
resource "aws_mskconnect_worker_configuration" "this" {
  name        = "${var.name}-worker"
  description = "searchsync: JSON converters with schemas, Secrets Manager config provider"

  properties_file_content = <<-EOT
    key.converter=org.apache.kafka.connect.json.JsonConverter
    value.converter=org.apache.kafka.connect.json.JsonConverter
    key.converter.schemas.enable=true
    value.converter.schemas.enable=true
    topic.creation.enable=true
    offset.storage.topic=${var.name}-connect-offsets
    offset.flush.interval.ms=250
    connector.client.config.override.policy=All
    config.providers=secretsmanager
    config.providers.secretsmanager.class=com.amazonaws.kafka.config.providers.SecretsManagerConfigProvider
    config.providers.secretsmanager.param.region=${var.aws_region}
  EOT
}

# ---------------------------------------------------------------------------------------------
# The connector: IAM authentication over TLS to MSK, autoscaled workers, logs to CloudWatch.
# ---------------------------------------------------------------------------------------------
resource "aws_mskconnect_connector" "debezium" {
  name                 = local.connector_name
  description          = "searchsync: PostgreSQL changes to Kafka (connectors/debezium-postgres.json)"
  kafkaconnect_version = var.kafkaconnect_version

  capacity {
    autoscaling {
      mcu_count        = var.connector_mcu_count
      min_worker_count = var.connector_min_workers
      max_worker_count = var.connector_max_workers

      scale_in_policy {
        cpu_utilization_percentage = var.connector_scale_in_cpu
      }

      scale_out_policy {
        cpu_utilization_percentage = var.connector_scale_out_cpu
      }
    }
  }

  connector_configuration = local.connector_configuration

  kafka_cluster {
    apache_kafka_cluster {
      bootstrap_servers = aws_msk_cluster.this.bootstrap_brokers_sasl_iam

      vpc {
        security_groups = [aws_security_group.connector.id]
        subnets         = var.private_subnet_ids
      }
    }
  }

  kafka_cluster_client_authentication {
    authentication_type = "IAM"
  }

  kafka_cluster_encryption_in_transit {
    encryption_type = "TLS"
  }

  plugin {
    custom_plugin {
      arn      = aws_mskconnect_custom_plugin.debezium.arn
      revision = aws_mskconnect_custom_plugin.debezium.latest_revision
    }
  }

  worker_configuration {
    arn      = aws_mskconnect_worker_configuration.this.arn
    revision = aws_mskconnect_worker_configuration.this.latest_revision
  }

  log_delivery {
    worker_log_delivery {
      cloudwatch_logs {
        enabled   = true
        log_group = aws_cloudwatch_log_group.connector.name
      }
    }
  }

  service_execution_role_arn = aws_iam_role.connector.arn

  lifecycle {
    precondition {
      condition     = length(local.connector_template_problems) == 0
      error_message = "connectors/debezium-postgres.json cannot be rendered: ${join("; ", local.connector_template_problems)}"
    }

    precondition {
      condition     = var.connector_min_workers <= var.connector_max_workers
      error_message = "connector_min_workers must not exceed connector_max_workers."
    }

    precondition {
      condition     = var.connector_scale_in_cpu < var.connector_scale_out_cpu
      error_message = "connector_scale_in_cpu must be below connector_scale_out_cpu."
    }
  }

  depends_on = [aws_iam_role_policy.connector]
}
