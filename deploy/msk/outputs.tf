output "msk_cluster_arn" {
  description = "ARN of the MSK cluster."
  value       = aws_msk_cluster.this.arn
}

output "msk_bootstrap_brokers_sasl_iam" {
  description = "Bootstrap servers for IAM authentication over TLS (port 9098): the apps' KAFKA_BROKERS."
  value       = aws_msk_cluster.this.bootstrap_brokers_sasl_iam
}

output "connector_arn" {
  description = "ARN of the MSK Connect connector."
  value       = aws_mskconnect_connector.debezium.arn
}

output "connector_name" {
  description = "Name of the connector (ADMIN_CONNECTOR_NAME)."
  value       = aws_mskconnect_connector.debezium.name
}

output "custom_plugin_arn" {
  description = "ARN of the Debezium custom plugin."
  value       = aws_mskconnect_custom_plugin.debezium.arn
}

output "worker_configuration_arn" {
  description = "ARN of the worker configuration."
  value       = aws_mskconnect_worker_configuration.this.arn
}

output "connector_service_execution_role_arn" {
  description = "ARN of the connector's service execution role."
  value       = aws_iam_role.connector.arn
}

output "connector_security_group_id" {
  description = "Security group of the connector workers: allow it into the database on its port."
  value       = aws_security_group.connector.id
}

output "connector_log_group" {
  description = "CloudWatch log group of the connector workers."
  value       = aws_cloudwatch_log_group.connector.name
}

output "plugin_bucket" {
  description = "S3 bucket holding the custom plugin zip."
  value       = aws_s3_bucket.plugins.id
}

output "opensearch_endpoint" {
  description = "HTTPS endpoint of the OpenSearch domain: the apps' SEARCH_URL."
  value       = "https://${aws_opensearch_domain.this.endpoint}"
}

output "opensearch_domain_arn" {
  description = "ARN of the OpenSearch domain."
  value       = aws_opensearch_domain.this.arn
}

output "rds_parameter_group_name" {
  description = "Parameter group with rds.logical_replication=1, to attach to the database instance (then reboot it)."
  value       = aws_db_parameter_group.logical_replication.name
}

output "apps_policy_arn" {
  description = "IAM policy of the apps (Kafka topics and group, MSK Connect, OpenSearch)."
  value       = aws_iam_policy.apps.arn
}

output "apps_role_arn" {
  description = "IRSA role of the apps (null unless eks_oidc_provider_arn is set): the chart's serviceAccount.annotations.\"eks.amazonaws.com/role-arn\"."
  value       = one(aws_iam_role.apps[*].arn)
}

output "helm_values" {
  description = "Values for deploy/helm/searchsync that follow from this stack."
  value = {
    config = {
      kafkaBrokers           = aws_msk_cluster.this.bootstrap_brokers_sasl_iam
      searchUrl              = "https://${aws_opensearch_domain.this.endpoint}"
      topicPrefix            = var.topic_prefix
      connectOffsetTopic     = "${var.name}-connect-offsets"
      schemas                = join(",", var.schemas)
      connectorName          = aws_mskconnect_connector.debezium.name
      topicPartitions        = var.topic_partitions
      topicReplicationFactor = min(3, var.broker_count)
    }
    indexer = {
      groupId = var.indexer_group_id
    }
  }
}
