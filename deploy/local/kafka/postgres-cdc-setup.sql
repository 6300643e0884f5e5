-- One-time PostgreSQL setup for the Debezium connector in debezium-postgres.sample.json.
-- Requires PostgreSQL >= 15 (FOR TABLES IN SCHEMA), wal_level=logical, and a SUPERUSER
-- (PG requires superuser for FOR ALL TABLES / FOR TABLES IN SCHEMA publications).
-- Idempotent: safe to run again.

-- Debezium bookkeeping tables live outside "public" so they never become search indexes.
CREATE SCHEMA IF NOT EXISTS searchsync_cdc;

-- Signal table (signal.data.collection=searchsync_cdc.signal): INSERT rows here to trigger
-- ad-hoc incremental snapshots, e.g.
--   INSERT INTO searchsync_cdc.signal VALUES (gen_random_uuid()::text, 'execute-snapshot',
--     '{"data-collections":["public.my_table"],"type":"incremental"}');
CREATE TABLE IF NOT EXISTS searchsync_cdc.signal (
  id   varchar(64) PRIMARY KEY,
  type varchar(32) NOT NULL,
  data varchar(2048)
);

-- Heartbeat table (heartbeat.action.query upserts row 1): keeps the replication slot's
-- confirmed_flush_lsn moving while the captured tables are idle, so WAL does not pile up.
CREATE TABLE IF NOT EXISTS searchsync_cdc.heartbeat (
  id int PRIMARY KEY,
  ts timestamptz NOT NULL
);

-- Publication covering every current AND future table of schema public, plus the two tables above.
-- publish_via_partition_root: changes of partitions are published as the partitioned (root) table.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'searchsync_pub') THEN
    CREATE PUBLICATION searchsync_pub FOR TABLES IN SCHEMA public, searchsync_cdc
      WITH (publish_via_partition_root = true);
  END IF;
END $$;
