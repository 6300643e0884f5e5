resource "aws_msk_configuration" "this" {
  name           = "${var.name}-kafka"
  description    = "searchsync brokers"
  kafka_versions = [var.kafka_version]

  server_properties = <<-EOT
    auto.create.topics.enable=${var.auto_create_topics}
    default.replication.factor=${min(3, var.broker_count)}
    min.insync.replicas=${min(2, var.broker_count - 1)}
    num.partitions=${var.topic_partitions}
    unclean.leader.election.enable=false
  EOT
}

resource "aws_msk_cluster" "this" {
  cluster_name           = "${var.name}-kafka"
  kafka_version          = var.kafka_version
  number_of_broker_nodes = var.broker_count

  broker_node_group_info {
    instance_type   = var.broker_instance_type
    client_subnets  = var.private_subnet_ids
    security_groups = [aws_security_group.msk.id]

    storage_info {
      ebs_storage_info {
        volume_size = var.broker_volume_size_gib
      }
    }
  }

  configuration_info {
    arn      = aws_msk_configuration.this.arn
    revision = aws_msk_configuration.this.latest_revision
  }

  # TLS between clients and brokers and inside the cluster; encryption at rest with the
  # AWS-managed key.
  encryption_info {
    encryption_in_transit {
      client_broker = "TLS"
      in_cluster    = true
    }
  }

  # IAM access control only: no plaintext, no unauthenticated clients.
  client_authentication {
    unauthenticated = false

    sasl {
      iam = true
    }
  }

  logging_info {
    broker_logs {
      cloudwatch_logs {
        enabled   = true
        log_group = aws_cloudwatch_log_group.msk.name
      }
    }
  }

  open_monitoring {
    prometheus {
      jmx_exporter {
        enabled_in_broker = true
      }

      node_exporter {
        enabled_in_broker = true
      }
    }
  }

  lifecycle {
    precondition {
      condition     = var.broker_count % length(var.private_subnet_ids) == 0
      error_message = "broker_count must be a multiple of the number of private_subnet_ids."
    }
  }
}

locals {
  # IAM resource ARNs of the cluster's topics and groups:
  # arn:<partition>:kafka:<region>:<account>:topic/<cluster name>/<cluster uuid>/<topic>
  msk_topic_arn_prefix = replace(aws_msk_cluster.this.arn, ":cluster/", ":topic/")
  msk_group_arn_prefix = replace(aws_msk_cluster.this.arn, ":cluster/", ":group/")
}
