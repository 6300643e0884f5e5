locals {
  opensearch_domain_name = "${var.name}-search"
  opensearch_domain_arn  = "arn:${data.aws_partition.current.partition}:es:${var.aws_region}:${data.aws_caller_identity.current.account_id}:domain/${local.opensearch_domain_name}"
  opensearch_az_count    = var.opensearch_instance_count > 1 ? length(var.private_subnet_ids) : 1
  opensearch_principals  = concat(var.opensearch_client_role_arns, aws_iam_role.apps[*].arn)
}

# Who may call the domain: the listed roles (requests signed with SigV4), or — when none are
# listed — any caller that the VPC security group lets in.
data "aws_iam_policy_document" "opensearch_access" {
  statement {
    sid       = "SearchsyncClients"
    actions   = ["es:ESHttp*"]
    resources = ["${local.opensearch_domain_arn}/*"]

    principals {
      type        = "AWS"
      identifiers = length(local.opensearch_principals) > 0 ? local.opensearch_principals : ["*"]
    }
  }
}

resource "aws_opensearch_domain" "this" {
  domain_name    = local.opensearch_domain_name
  engine_version = var.opensearch_engine_version

  cluster_config {
    instance_type          = var.opensearch_instance_type
    instance_count         = var.opensearch_instance_count
    zone_awareness_enabled = local.opensearch_az_count > 1

    dynamic "zone_awareness_config" {
      for_each = local.opensearch_az_count > 1 ? [local.opensearch_az_count] : []

      content {
        availability_zone_count = zone_awareness_config.value
      }
    }
  }

  ebs_options {
    ebs_enabled = true
    volume_type = "gp3"
    volume_size = var.opensearch_volume_size_gib
  }

  vpc_options {
    subnet_ids         = slice(var.private_subnet_ids, 0, local.opensearch_az_count)
    security_group_ids = [aws_security_group.opensearch.id]
  }

  encrypt_at_rest {
    enabled = true
  }

  node_to_node_encryption {
    enabled = true
  }

  domain_endpoint_options {
    enforce_https       = true
    tls_security_policy = "Policy-Min-TLS-1-2-2019-07"
  }

  log_publishing_options {
    log_type                 = "ES_APPLICATION_LOGS"
    cloudwatch_log_group_arn = aws_cloudwatch_log_group.opensearch.arn
  }

  access_policies = data.aws_iam_policy_document.opensearch_access.json

  lifecycle {
    precondition {
      condition     = var.opensearch_instance_count % local.opensearch_az_count == 0
      error_message = "opensearch_instance_count must be a multiple of the number of private_subnet_ids when it is above 1."
    }
  }

  depends_on = [aws_cloudwatch_log_resource_policy.opensearch]
}
