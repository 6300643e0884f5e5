# searchsync on AWS: Amazon MSK (provisioned, IAM auth over TLS), MSK Connect running the
# Debezium PostgreSQL connector, an RDS parameter group for logical replication, and the
# Amazon OpenSearch Service domain the indexer writes to. See docs/deploy.md.
terraform {
  required_version = ">= 1.6.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.60.0, < 7.0.0"
    }
  }

  # Configure a remote backend (S3 + locking) for real use, e.g. with
  # `terraform init -backend-config=backend.hcl`.
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = merge({ "app.kubernetes.io/part-of" = "searchsync" }, var.tags)
  }
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}
