# ---------------------------------------------------------------------------------------------
# General
# ---------------------------------------------------------------------------------------------
variable "aws_region" {
  type        = string
  description = "AWS region of every resource, e.g. eu-west-1."
}

variable "name" {
  type        = string
  description = "Name prefix of every resource (lowercase letters, digits and dashes; at most 20 characters, because OpenSearch domain names are limited to 28)."
  default     = "searchsync"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,19}$", var.name))
    error_message = "name must be 2-20 characters: a lowercase letter, then lowercase letters, digits or dashes."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}

# ---------------------------------------------------------------------------------------------
# Network
# ---------------------------------------------------------------------------------------------
variable "vpc_id" {
  type        = string
  description = "VPC of the MSK cluster, the MSK Connect connector and the OpenSearch domain (the EKS cluster's VPC)."
}

variable "private_subnet_ids" {
  type        = list(string)
  description = "Private subnets, one per availability zone (2 or 3), for the brokers, the connector workers and the OpenSearch nodes. The connector needs a route to the AWS APIs (NAT gateway or VPC endpoints for Secrets Manager, CloudWatch Logs, S3)."

  validation {
    condition     = length(var.private_subnet_ids) >= 2 && length(var.private_subnet_ids) <= 3
    error_message = "private_subnet_ids must list 2 or 3 subnets in distinct availability zones."
  }
}

variable "client_security_group_ids" {
  type        = list(string)
  description = "Security groups of the searchsync apps (e.g. the EKS node or pod security group) allowed to reach Kafka (9098) and OpenSearch (443)."
  default     = []
}

variable "client_cidr_blocks" {
  type        = list(string)
  description = "CIDR blocks allowed to reach Kafka (9098) and OpenSearch (443), in addition to client_security_group_ids."
  default     = []

  validation {
    condition     = alltrue([for cidr in var.client_cidr_blocks : can(cidrhost(cidr, 0))])
    error_message = "client_cidr_blocks must hold CIDR blocks such as 10.0.0.0/16."
  }
}

# ---------------------------------------------------------------------------------------------
# Amazon MSK
# ---------------------------------------------------------------------------------------------
variable "kafka_version" {
  type        = string
  description = "Apache Kafka version of the MSK cluster (an MSK-supported version string, e.g. 3.9.x)."
  default     = "3.9.x"
}

variable "broker_instance_type" {
  type        = string
  description = "MSK broker instance type."
  default     = "kafka.m7g.large"
}

variable "broker_count" {
  type        = number
  description = "Number of brokers: a multiple of the number of private subnets."
  default     = 3

  validation {
    condition     = var.broker_count >= 2 && floor(var.broker_count) == var.broker_count
    error_message = "broker_count must be a whole number of at least 2."
  }
}

variable "broker_volume_size_gib" {
  type        = number
  description = "EBS storage per broker, in GiB."
  default     = 100

  validation {
    condition     = var.broker_volume_size_gib >= 1 && var.broker_volume_size_gib <= 16384
    error_message = "broker_volume_size_gib must be between 1 and 16384."
  }
}

variable "auto_create_topics" {
  type        = bool
  description = "Broker auto.create.topics.enable. The indexer creates its dead-letter topic by producing to it, so this stays on unless you create that topic yourself. Debezium creates the table topics through topic.creation.* either way."
  default     = true
}

variable "topic_partitions" {
  type        = number
  description = "Partitions of each table topic (Debezium topic.creation.default.partitions). The indexer scales out to at most this many replicas: keep the Helm value config.topicPartitions equal."
  default     = 6

  validation {
    condition     = var.topic_partitions >= 1 && floor(var.topic_partitions) == var.topic_partitions
    error_message = "topic_partitions must be a whole number of at least 1."
  }
}

variable "topic_prefix" {
  type        = string
  description = "Debezium topic.prefix (SEARCHSYNC_TOPIC_PREFIX): topics are <prefix>.<schema>.<table>."
  default     = "searchsync"

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]+$", var.topic_prefix))
    error_message = "topic_prefix may hold letters, digits, _ and - only."
  }
}

variable "schemas" {
  type        = list(string)
  description = "PostgreSQL schemas whose tables are synced (SEARCHSYNC_SCHEMAS)."
  default     = ["public"]

  validation {
    condition     = length(var.schemas) > 0
    error_message = "schemas must name at least one schema."
  }
}

variable "indexer_group_id" {
  type        = string
  description = "Consumer group of the indexer (INDEXER_GROUP_ID), for the apps' IAM policy."
  default     = "searchsync-indexer"
}

variable "dead_letter_topic" {
  type        = string
  description = "The indexer's dead-letter topic (INDEXER_DEAD_LETTER_TOPIC), for the apps' IAM policy."
  default     = "searchsync.dead-letter"
}

# ---------------------------------------------------------------------------------------------
# MSK Connect and the Debezium connector
# ---------------------------------------------------------------------------------------------
variable "kafkaconnect_version" {
  type        = string
  description = "Kafka Connect version of MSK Connect (2.7.1 or 3.7.x)."
  default     = "3.7.x"

  validation {
    condition     = contains(["2.7.1", "3.7.x"], var.kafkaconnect_version)
    error_message = "kafkaconnect_version must be 2.7.1 or 3.7.x."
  }
}

variable "debezium_version" {
  type        = string
  description = "Debezium PostgreSQL connector version inside the plugin zip. MSK Connect runs Kafka Connect 3.7.x, so the default is Debezium 2.7.4.Final (built against Kafka 3.7.0, Java 11 bytecode); Debezium 3.x is built against Kafka 4.x and needs Java 17 (keep Connect on the Kafka version the Debezium release was built with, see deploy/local/kafka/README.md)."
  default     = "2.7.4.Final"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+\\.[A-Za-z0-9]+$", var.debezium_version))
    error_message = "debezium_version looks like 2.7.4.Final."
  }
}

variable "debezium_plugin_zip_path" {
  type        = string
  description = "Local path of the custom plugin zip uploaded to S3: the debezium-connector-postgres-<debezium_version>-plugin.tar.gz contents plus the msk-config-providers jar (Secrets Manager config provider), zipped. See docs/deploy.md."

  validation {
    condition     = endswith(var.debezium_plugin_zip_path, ".zip")
    error_message = "debezium_plugin_zip_path must name a .zip file (MSK Connect takes ZIP or JAR plugins)."
  }
}

variable "connector_name" {
  type        = string
  description = "Name of the MSK Connect connector (SEARCHSYNC_CONNECTOR_NAME / ADMIN_CONNECTOR_NAME)."
  default     = "searchsync-postgres"

  validation {
    condition     = can(regex("^[a-zA-Z0-9-]{1,128}$", var.connector_name))
    error_message = "connector_name may hold letters, digits and dashes (at most 128)."
  }
}

variable "connector_mcu_count" {
  type        = number
  description = "MSK Connect units (MCUs) per worker: 1, 2, 4 or 8."
  default     = 1

  validation {
    condition     = contains([1, 2, 4, 8], var.connector_mcu_count)
    error_message = "connector_mcu_count must be 1, 2, 4 or 8."
  }
}

variable "connector_min_workers" {
  type        = number
  description = "Autoscaling lower bound of connector workers. The Debezium PostgreSQL connector runs one task, so one worker does the work; a second one only takes over."
  default     = 1

  validation {
    condition     = var.connector_min_workers >= 1 && var.connector_min_workers <= 10
    error_message = "connector_min_workers must be between 1 and 10."
  }
}

variable "connector_max_workers" {
  type        = number
  description = "Autoscaling upper bound of connector workers (>= connector_min_workers)."
  default     = 2

  validation {
    condition     = var.connector_max_workers >= 1 && var.connector_max_workers <= 10
    error_message = "connector_max_workers must be between 1 and 10."
  }
}

variable "connector_scale_in_cpu" {
  type        = number
  description = "Average worker CPU percentage below which MSK Connect scales in."
  default     = 20

  validation {
    condition     = var.connector_scale_in_cpu >= 1 && var.connector_scale_in_cpu <= 100
    error_message = "connector_scale_in_cpu must be between 1 and 100."
  }
}

variable "connector_scale_out_cpu" {
  type        = number
  description = "Average worker CPU percentage above which MSK Connect scales out."
  default     = 80

  validation {
    condition     = var.connector_scale_out_cpu >= 1 && var.connector_scale_out_cpu <= 100
    error_message = "connector_scale_out_cpu must be between 1 and 100."
  }
}

# ---------------------------------------------------------------------------------------------
# The source database (Amazon RDS for PostgreSQL)
# ---------------------------------------------------------------------------------------------
variable "database_host" {
  type        = string
  description = "Endpoint of the PostgreSQL database Debezium reads (e.g. the RDS instance address)."
}

variable "database_port" {
  type        = number
  description = "PostgreSQL port."
  default     = 5432
}

variable "database_name" {
  type        = string
  description = "Database whose tables are synced."
}

variable "database_user" {
  type        = string
  description = "Database user of the connector: it needs the rds_replication role and SELECT on the synced tables."
}

variable "database_password_secret_arn" {
  type        = string
  description = "ARN of the Secrets Manager secret holding the connector user's password (a JSON secret, see database_password_secret_key). Only this reference reaches the connector configuration; MSK Connect's workers resolve it through the Secrets Manager config provider."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", var.database_password_secret_arn))
    error_message = "database_password_secret_arn must be a Secrets Manager secret ARN."
  }
}

variable "database_password_secret_key" {
  type        = string
  description = "JSON key of the password inside the secret (RDS-managed secrets use \"password\")."
  default     = "password"
}

variable "database_password_secret_kms_key_arn" {
  type        = string
  description = "ARN of the customer-managed KMS key encrypting the secret, if any (null for the AWS-managed key)."
  default     = null
}

variable "database_security_group_id" {
  type        = string
  description = "Security group of the database; when set, the connector's security group is allowed in on database_port."
  default     = null
}

variable "rds_parameter_group_family" {
  type        = string
  description = "RDS parameter group family of the database, e.g. postgres16 (PostgreSQL 15 or newer, the versions searchsync supports)."
  default     = "postgres16"

  validation {
    condition     = can(regex("^(aurora-)?postgresql?[0-9]+$", var.rds_parameter_group_family))
    error_message = "rds_parameter_group_family looks like postgres16 or aurora-postgresql16."
  }
}

# ---------------------------------------------------------------------------------------------
# Amazon OpenSearch Service
# ---------------------------------------------------------------------------------------------
variable "opensearch_engine_version" {
  type        = string
  description = "Engine version of the OpenSearch domain (the local stack runs OpenSearch 2.19)."
  default     = "OpenSearch_2.19"
}

variable "opensearch_instance_type" {
  type        = string
  description = "Data node instance type."
  default     = "r7g.large.search"
}

variable "opensearch_instance_count" {
  type        = number
  description = "Data nodes; with more than one, they are spread over the subnets' availability zones (a multiple of their number)."
  default     = 2

  validation {
    condition     = var.opensearch_instance_count >= 1
    error_message = "opensearch_instance_count must be at least 1."
  }
}

variable "opensearch_volume_size_gib" {
  type        = number
  description = "EBS (gp3) storage per data node, in GiB."
  default     = 100
}

variable "opensearch_client_role_arns" {
  type        = list(string)
  description = "IAM roles allowed to call the domain (the apps' IRSA role is added when created). Empty: the access policy is open inside the VPC and the security group alone restricts access, for clients that do not sign requests with SigV4."
  default     = []
}

# ---------------------------------------------------------------------------------------------
# The apps on EKS (optional IRSA role)
# ---------------------------------------------------------------------------------------------
variable "eks_oidc_provider_arn" {
  type        = string
  description = "ARN of the EKS cluster's IAM OIDC provider. When set, an IAM role for the apps' service account (IRSA) is created with the apps' policy."
  default     = null
}

variable "app_service_account" {
  type        = string
  description = "namespace:name of the apps' Kubernetes service account (the Helm chart's serviceAccount), trusted by the IRSA role."
  default     = "searchsync:searchsync"

  validation {
    condition     = can(regex("^[a-z0-9-]+:[a-z0-9-]+$", var.app_service_account))
    error_message = "app_service_account must look like namespace:name."
  }
}

# ---------------------------------------------------------------------------------------------
# Logs
# ---------------------------------------------------------------------------------------------
variable "log_retention_days" {
  type        = number
  description = "Retention of the CloudWatch log groups (MSK brokers, connector workers, OpenSearch)."
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, …)."
  }
}
