# ---------------------------------------------------------------------------------------------
# Service execution role of the connector, least privilege: connect to this cluster only,
# write the table and heartbeat topics of topic_prefix, keep MSK Connect's own internal
# topics and groups, read the one database password secret.
# ---------------------------------------------------------------------------------------------
data "aws_iam_policy_document" "connector_assume" {
  statement {
    sid     = "MskConnect"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["kafkaconnect.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${data.aws_partition.current.partition}:kafkaconnect:${var.aws_region}:${data.aws_caller_identity.current.account_id}:connector/${var.connector_name}/*"]
    }
  }
}

resource "aws_iam_role" "connector" {
  name_prefix        = "${var.name}-connector-"
  description        = "searchsync MSK Connect service execution role (Debezium PostgreSQL)"
  assume_role_policy = data.aws_iam_policy_document.connector_assume.json
}

data "aws_iam_policy_document" "connector" {
  statement {
    sid = "Cluster"
    actions = [
      "kafka-cluster:Connect",
      "kafka-cluster:DescribeCluster",
      "kafka-cluster:WriteDataIdempotently",
    ]
    resources = [aws_msk_cluster.this.arn]
  }

  # <prefix>.<schema>.<table> and Debezium's heartbeat topic __debezium-heartbeat.<prefix>
  statement {
    sid = "ChangeEventTopics"
    actions = [
      "kafka-cluster:CreateTopic",
      "kafka-cluster:DescribeTopic",
      "kafka-cluster:WriteData",
    ]
    resources = [
      "${local.msk_topic_arn_prefix}/${var.topic_prefix}.*",
      "${local.msk_topic_arn_prefix}/__debezium-heartbeat.${var.topic_prefix}",
    ]
  }

  # MSK Connect's offsets, configs and status topics and its worker group.
  statement {
    sid = "ConnectInternalTopics"
    actions = [
      "kafka-cluster:CreateTopic",
      "kafka-cluster:DescribeTopic",
      "kafka-cluster:DescribeTopicDynamicConfiguration",
      "kafka-cluster:ReadData",
      "kafka-cluster:WriteData",
    ]
    resources = [
      "${local.msk_topic_arn_prefix}/__amazon_msk_connect_*",
      # offset.storage.topic of the worker configuration (connect.tf): the API reads it too.
      "${local.msk_topic_arn_prefix}/${var.name}-connect-offsets",
    ]
  }

  statement {
    sid = "ConnectInternalGroups"
    actions = [
      "kafka-cluster:AlterGroup",
      "kafka-cluster:DescribeGroup",
    ]
    resources = [
      "${local.msk_group_arn_prefix}/__amazon_msk_connect_*",
      "${local.msk_group_arn_prefix}/connect-*",
    ]
  }

  # The Secrets Manager config provider resolves the database password at runtime.
  statement {
    sid       = "DatabasePassword"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [var.database_password_secret_arn]
  }

  dynamic "statement" {
    for_each = var.database_password_secret_kms_key_arn == null ? [] : [var.database_password_secret_kms_key_arn]

    content {
      sid       = "DatabasePasswordKey"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${var.aws_region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "connector" {
  name   = "msk-connect-debezium"
  role   = aws_iam_role.connector.id
  policy = data.aws_iam_policy_document.connector.json
}

# ---------------------------------------------------------------------------------------------
# The apps (api, connector-admin, indexer): read the change topics in their consumer group,
# write the dead-letter topic, read Kafka lag, manage this connector through the MSK Connect
# API, and use the OpenSearch domain. Attach to the apps' IRSA role (created below when
# eks_oidc_provider_arn is set).
# ---------------------------------------------------------------------------------------------
data "aws_iam_policy_document" "apps" {
  statement {
    sid       = "Cluster"
    actions   = ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster", "kafka-cluster:WriteDataIdempotently"]
    resources = [aws_msk_cluster.this.arn]
  }

  statement {
    sid = "ReadChangeEvents"
    # WriteData: the admin's dead-letter replay re-drives records into their table topics.
    actions = ["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData", "kafka-cluster:WriteData"]
    resources = [
      "${local.msk_topic_arn_prefix}/${var.topic_prefix}.*",
    ]
  }

  statement {
    sid       = "DeadLetters"
    actions   = ["kafka-cluster:CreateTopic", "kafka-cluster:DescribeTopic", "kafka-cluster:WriteData", "kafka-cluster:ReadData"]
    resources = [
      "${local.msk_topic_arn_prefix}/${var.dead_letter_topic}",
      "${local.msk_topic_arn_prefix}/${var.dead_letter_topic}.resolutions",
    ]
  }

  # The API's read-your-writes (consistentWith) follows Debezium's committed position here.
  statement {
    sid       = "ReadConnectOffsets"
    actions   = ["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"]
    resources = ["${local.msk_topic_arn_prefix}/${var.name}-connect-offsets"]
  }

  statement {
    sid       = "IndexerGroup"
    actions   = ["kafka-cluster:AlterGroup", "kafka-cluster:DescribeGroup"]
    resources = [
      "${local.msk_group_arn_prefix}/${var.indexer_group_id}",
      # The admin's own readers (dead letters, notifications) use groups of this prefix.
      "${local.msk_group_arn_prefix}/searchsync-admin-*",
      # The API's reader of the Connect offset topic (a throw-away group per process).
      "${local.msk_group_arn_prefix}/searchsync-api-positions-*",
    ]
  }

  statement {
    sid       = "ListConnectors"
    actions   = ["kafkaconnect:ListConnectors"]
    resources = ["*"]
  }

  statement {
    sid = "ManageConnector"
    actions = [
      "kafkaconnect:DescribeConnector",
      "kafkaconnect:UpdateConnector",
    ]
    resources = [aws_mskconnect_connector.debezium.arn]
  }

  statement {
    sid       = "Search"
    actions   = ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut", "es:ESHttpDelete"]
    resources = ["${aws_opensearch_domain.this.arn}/*"]
  }
}

resource "aws_iam_policy" "apps" {
  name_prefix = "${var.name}-apps-"
  description = "searchsync api, connector-admin and indexer"
  policy      = data.aws_iam_policy_document.apps.json
}

locals {
  eks_oidc_issuer = var.eks_oidc_provider_arn == null ? "" : element(split(":oidc-provider/", var.eks_oidc_provider_arn), 1)
}

data "aws_iam_policy_document" "apps_assume" {
  count = var.eks_oidc_provider_arn == null ? 0 : 1

  statement {
    sid     = "EksServiceAccount"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [var.eks_oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.eks_oidc_issuer}:sub"
      values   = ["system:serviceaccount:${var.app_service_account}"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.eks_oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "apps" {
  count = var.eks_oidc_provider_arn == null ? 0 : 1

  name_prefix        = "${var.name}-apps-"
  description        = "searchsync apps on EKS (IRSA)"
  assume_role_policy = data.aws_iam_policy_document.apps_assume[0].json
}

resource "aws_iam_role_policy_attachment" "apps" {
  count = var.eks_oidc_provider_arn == null ? 0 : 1

  role       = aws_iam_role.apps[0].name
  policy_arn = aws_iam_policy.apps.arn
}
