# Debezium reads the write-ahead log through logical replication (pgoutput). On RDS that is
# rds.logical_replication=1, a static parameter: attach this group to the instance and reboot
# it once. Then, as the master user:
#   GRANT rds_replication TO <database_user>;
# and run the database setup (publication, signal and heartbeat tables), see docs/deploy.md.
resource "aws_db_parameter_group" "logical_replication" {
  name_prefix = "${var.name}-logical-replication-"
  family      = var.rds_parameter_group_family
  description = "searchsync: logical replication for Debezium"

  parameter {
    name         = "rds.logical_replication"
    value        = "1"
    apply_method = "pending-reboot"
  }

  # Room for the connector's replication slot and WAL sender next to other consumers.
  parameter {
    name         = "max_replication_slots"
    value        = "10"
    apply_method = "pending-reboot"
  }

  parameter {
    name         = "max_wal_senders"
    value        = "10"
    apply_method = "pending-reboot"
  }

  lifecycle {
    create_before_destroy = true
  }
}
