# Security groups: the connector workers, the brokers and the OpenSearch domain. Clients are
# the apps (client_security_group_ids / client_cidr_blocks) and the connector.

resource "aws_security_group" "connector" {
  name_prefix = "${var.name}-connector-"
  description = "searchsync MSK Connect workers (Debezium PostgreSQL)"
  vpc_id      = var.vpc_id

  lifecycle {
    create_before_destroy = true
  }
}

# The workers reach the brokers, the database and the AWS APIs (Secrets Manager, Logs, S3).
resource "aws_vpc_security_group_egress_rule" "connector_all" {
  security_group_id = aws_security_group.connector.id
  description       = "brokers, database, AWS APIs"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_security_group" "msk" {
  name_prefix = "${var.name}-msk-"
  description = "searchsync MSK brokers"
  vpc_id      = var.vpc_id

  lifecycle {
    create_before_destroy = true
  }
}

# 9098: IAM authentication over TLS, the only listener clients may use.
resource "aws_vpc_security_group_ingress_rule" "msk_from_connector" {
  security_group_id            = aws_security_group.msk.id
  description                  = "MSK Connect workers (IAM over TLS)"
  ip_protocol                  = "tcp"
  from_port                    = 9098
  to_port                      = 9098
  referenced_security_group_id = aws_security_group.connector.id
}

resource "aws_vpc_security_group_ingress_rule" "msk_from_client_groups" {
  for_each = toset(var.client_security_group_ids)

  security_group_id            = aws_security_group.msk.id
  description                  = "searchsync apps (IAM over TLS)"
  ip_protocol                  = "tcp"
  from_port                    = 9098
  to_port                      = 9098
  referenced_security_group_id = each.value
}

resource "aws_vpc_security_group_ingress_rule" "msk_from_client_cidrs" {
  for_each = toset(var.client_cidr_blocks)

  security_group_id = aws_security_group.msk.id
  description       = "searchsync apps (IAM over TLS)"
  ip_protocol       = "tcp"
  from_port         = 9098
  to_port           = 9098
  cidr_ipv4         = each.value
}

resource "aws_security_group" "opensearch" {
  name_prefix = "${var.name}-opensearch-"
  description = "searchsync OpenSearch domain"
  vpc_id      = var.vpc_id

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "opensearch_from_client_groups" {
  for_each = toset(var.client_security_group_ids)

  security_group_id            = aws_security_group.opensearch.id
  description                  = "searchsync apps (HTTPS)"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = each.value
}

resource "aws_vpc_security_group_ingress_rule" "opensearch_from_client_cidrs" {
  for_each = toset(var.client_cidr_blocks)

  security_group_id = aws_security_group.opensearch.id
  description       = "searchsync apps (HTTPS)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
}

# The connector reaches the database.
resource "aws_vpc_security_group_ingress_rule" "database_from_connector" {
  count = var.database_security_group_id == null ? 0 : 1

  security_group_id            = var.database_security_group_id
  description                  = "searchsync MSK Connect workers (Debezium)"
  ip_protocol                  = "tcp"
  from_port                    = var.database_port
  to_port                      = var.database_port
  referenced_security_group_id = aws_security_group.connector.id
}
