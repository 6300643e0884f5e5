#!/usr/bin/env bash
# End-to-end check of the local Kafka + Connect + Debezium stack described in README.md:
# throwaway PostgreSQL (wal_level=logical) -> Debezium -> Kafka topic, read back with the
# Kafka ConsoleConsumer. Starts everything itself, stops (by PID) everything it started.
#
#   deploy/local/kafka/smoke-test.sh            # resolves jars with Maven first
#   SKIP_MVN=1 OUT=/tmp/searchsync-kafka deploy/local/kafka/smoke-test.sh
#   KAFKAJS_DIR=/tmp/kjs ...                    # also run a kafkajs consumer-group check
#                                               # (a dir where `npm install kafkajs@2.2.4` ran)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${OUT:-/tmp/searchsync-kafka}"              # mvn -DoutputRoot
WORK="${WORK:-/tmp/searchsync-kafka-smoke}"      # data, logs, rendered configs (wiped)
export KAFKA_PORT="${KAFKA_PORT:-9092}" KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
export CONNECT_PORT="${CONNECT_PORT:-8083}"
PG_PORT="${PG_PORT:-55499}"
export KAFKA_BOOTSTRAP="127.0.0.1:${KAFKA_PORT}" KAFKA_DATA_DIR="$WORK/kafka-data"
export CONNECT_PLUGIN_PATH="$OUT/plugins"
TOPIC_PREFIX=searchsync
CONNECT_URL="http://127.0.0.1:${CONNECT_PORT}"

PIDS=()
PG_STARTED=0
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.2f", b-a}'; }
log() { echo "[smoke] $*"; }
fail() { echo "[smoke] FAIL: $*" >&2; exit 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  local i
  for ((i=${#PIDS[@]}-1; i>=0; i--)); do
    kill -TERM "${PIDS[$i]}" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "${PIDS[$i]}" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "${PIDS[$i]}" 2>/dev/null || true
  done
  [ "$PG_STARTED" = 1 ] && as_pg pg_ctl -D "$WORK/pg/data" -m fast stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

psql_app() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d appdb "$@"; }
rss_mib() { awk '/VmRSS/{printf "%d", $2/1024}' "/proc/$1/status"; }
JAVA_LOG_BROKER=(-Dlog4j2.configurationFile="$HERE/log4j2-broker.xml" -Dkafka.logs.dir="$WORK/logs/broker")
JAVA_LOG_CONNECT=(-Dlog4j2.configurationFile="$HERE/log4j2-connect.xml" -Dkafka.logs.dir="$WORK/logs/connect")

# --- 0. jars ---------------------------------------------------------------
if [ "${SKIP_MVN:-0}" != 1 ]; then
  t=$(now); mvn -B -q ${MVN_OPTS:-} -f "$HERE/pom.xml" -DoutputRoot="$OUT" package; log "maven resolve+copy: $(since "$t")s"
fi
[ -f "$OUT/plugins/debezium-connector-postgres/"debezium-connector-postgres-*.jar ] || fail "no plugin in $OUT"
CP="$OUT/lib/*"

rm -rf "$WORK"; mkdir -p "$WORK"/{conf,logs/broker,logs/connect,pg}

# --- 1. throwaway PostgreSQL ------------------------------------------------
[ "$(id -u)" = 0 ] && chown postgres "$WORK/pg"
as_pg initdb -D "$WORK/pg/data" -U postgres -A trust --no-sync >"$WORK/logs/initdb.log"
cat >>"$WORK/pg/data/postgresql.conf" <<EOF
port = $PG_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$WORK/pg'
wal_level = logical
max_wal_senders = 4
max_replication_slots = 4
fsync = off
EOF
as_pg pg_ctl -D "$WORK/pg/data" -l "$WORK/pg/postgres.log" -w start >/dev/null; PG_STARTED=1
psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -c "CREATE DATABASE appdb"
psql_app <<'EOF'
CREATE TABLE public.items (
  id bigserial PRIMARY KEY, name text NOT NULL, price numeric(12,4), ts timestamp(6),
  tstz timestamptz, iv interval, b bytea);
INSERT INTO public.items (name, price, ts, tstz, iv, b)
VALUES ('snap-1', 12.3456, '2024-02-29 13:14:15.123456', '2024-02-29 13:14:15.654321+02',
        '1 year 2 mons 3 days 04:05:06.789012', '\x00ff10');
EOF
psql_app -f "$HERE/postgres-cdc-setup.sql"

# --- 2. render configs --------------------------------------------------------
envsubst '${KAFKA_DATA_DIR} ${KAFKA_PORT} ${KAFKA_CONTROLLER_PORT}' <"$HERE/server.properties" >"$WORK/conf/server.properties"
envsubst '${KAFKA_BOOTSTRAP} ${CONNECT_PORT} ${CONNECT_PLUGIN_PATH}' <"$HERE/connect-distributed.properties" >"$WORK/conf/connect-distributed.properties"

# --- 3. broker ----------------------------------------------------------------
CLUSTER_ID=$(java -cp "$CP" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)
java "${JAVA_LOG_BROKER[@]}" -cp "$CP" kafka.tools.StorageTool format --standalone \
  --cluster-id "$CLUSTER_ID" --config "$WORK/conf/server.properties" >"$WORK/logs/format.log"
t=$(now)
java -Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
  "${JAVA_LOG_BROKER[@]}" -cp "$CP" kafka.Kafka "$WORK/conf/server.properties" \
  >"$WORK/logs/broker/stdout.log" 2>&1 &
BROKER_PID=$!; PIDS+=("$BROKER_PID")
until (exec 3<>"/dev/tcp/127.0.0.1/$KAFKA_PORT") 2>/dev/null; do
  kill -0 "$BROKER_PID" 2>/dev/null || fail "broker died, see $WORK/logs/broker"; sleep 0.1; done
log "broker accepting connections after $(since "$t")s"

# --- 4. Connect ---------------------------------------------------------------
start_connect() {
  local t; t=$(now)
  java -Xms256m -Xmx768m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
    "${JAVA_LOG_CONNECT[@]}" -cp "$CP" org.apache.kafka.connect.cli.ConnectDistributed \
    "$WORK/conf/connect-distributed.properties" >>"$WORK/logs/connect/stdout.log" 2>&1 &
  CONNECT_PID=$!; PIDS+=("$CONNECT_PID")
  until curl -sf "$CONNECT_URL/" >/dev/null; do
    kill -0 "$CONNECT_PID" 2>/dev/null || fail "connect died, see $WORK/logs/connect"; sleep 0.1; done
  log "connect GET / answering after $(since "$t")s"
  until curl -sf "$CONNECT_URL/connector-plugins" | grep -q io.debezium.connector.postgresql.PostgresConnector; do sleep 0.1; done
  log "connect lists PostgresConnector after $(since "$t")s"
}
start_connect

# --- 5. connector ----------------------------------------------------------------
jq --arg port "$PG_PORT" '.config["database.port"]=$port' "$HERE/debezium-postgres.sample.json" \
  | curl -sf -X POST -H 'Content-Type: application/json' "$CONNECT_URL/connectors" -d @- >/dev/null
wait_task_running() {
  for _ in $(seq 1 300); do
    curl -sf "$CONNECT_URL/connectors/searchsync-postgres/status" | jq -e '.tasks[0].state=="RUNNING"' >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  curl -s "$CONNECT_URL/connectors/searchsync-postgres/status"; fail "task not RUNNING"
}
wait_task_running

# ops in topic order, e.g. "r c u d t"
ops() {
  java -Xmx256m "${JAVA_LOG_CONNECT[@]}" -Dkafka.logs.dir="$WORK/logs" -cp "$CP" \
    org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$KAFKA_BOOTSTRAP" \
    --topic "$1" --from-beginning --timeout-ms "${2:-5000}" 2>/dev/null \
    | grep '^{' | jq -r '.payload.op' | tr '\n' ' ' | sed 's/ $//'
}
expect_ops() {  # topic expected [tries]
  local got
  for _ in $(seq 1 "${3:-10}"); do got=$(ops "$1" 3000 || true); [ "$got" = "$2" ] && { log "$1: $got"; return 0; }; sleep 1; done
  fail "$1: expected ops '$2', got '$got'"
}

psql_app <<'EOF'
INSERT INTO public.items (name, price) VALUES ('ins-2', 0.0001);
UPDATE public.items SET name = 'upd-2' WHERE name = 'ins-2';
DELETE FROM public.items WHERE name = 'upd-2';
TRUNCATE public.items;
CREATE TABLE public.created_later (id int PRIMARY KEY, label text);
INSERT INTO public.created_later VALUES (1, 'table created after the connector started');
EOF
expect_ops "$TOPIC_PREFIX.public.items" "r c u d t"
# exact-type metadata: column.propagate.source.type puts the PG type into the Connect schema
java -Xmx256m "${JAVA_LOG_CONNECT[@]}" -cp "$CP" org.apache.kafka.tools.consumer.ConsoleConsumer \
  --bootstrap-server "$KAFKA_BOOTSTRAP" --topic "$TOPIC_PREFIX.public.items" --from-beginning \
  --max-messages 1 --timeout-ms 5000 2>/dev/null | grep '^{' >"$WORK/first-event.json"
jq -e '.schema.fields[] | select(.field=="after") | .fields[] | select(.field=="price")
       | .parameters["__debezium.source.column.type"]=="NUMERIC" and .parameters["__debezium.source.column.scale"]=="4"' \
  "$WORK/first-event.json" >/dev/null || fail "price column schema lacks NUMERIC/scale parameters"
jq -e '.payload.after | .price=="12.3456" and .ts==1709212455123456 and .tstz=="2024-02-29T11:14:15.654321Z"
       and .iv=="P1Y2M3DT4H5M6.789012S" and .b=="AP8Q"' "$WORK/first-event.json" >/dev/null \
  || fail "unexpected value encoding: $(jq -c .payload.after "$WORK/first-event.json")"
log "snapshot event types/values as expected"
expect_ops "$TOPIC_PREFIX.public.created_later" "c"

# --- 6. ad-hoc incremental snapshot through the signal table ------------------------
psql_app -c "INSERT INTO searchsync_cdc.signal VALUES ('smoke-1', 'execute-snapshot', '{\"data-collections\":[\"public.created_later\"],\"type\":\"incremental\"}')"
expect_ops "$TOPIC_PREFIX.public.created_later" "c r"

# --- 7. kafkajs consumer group (optional) ---------------------------------------------
if [ -n "${KAFKAJS_DIR:-}" ]; then
  NODE_PATH="$KAFKAJS_DIR/node_modules" BOOTSTRAP="$KAFKA_BOOTSTRAP" node - <<'EOF' || fail "kafkajs"
const { Kafka, logLevel } = require('kafkajs');
const kafka = new Kafka({ clientId: 'smoke', brokers: [process.env.BOOTSTRAP], logLevel: logLevel.WARN });
(async () => {
  const groupId = 'smoke-kafkajs', c = kafka.consumer({ groupId }), admin = kafka.admin();
  const seen = [];
  await c.connect();
  await c.subscribe({ topics: [/^searchsync\.public\..*/], fromBeginning: true });
  await c.run({ autoCommit: false, eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
    for (const m of batch.messages) { seen.push(JSON.parse(m.value.toString()).payload.op); resolveOffset(m.offset); }
    await c.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(batch.lastOffset()) + 1n).toString() }]);
    await heartbeat();
  } });
  for (let i = 0; i < 100 && seen.length < 7; i++) await new Promise(r => setTimeout(r, 200));
  await c.disconnect();
  await admin.connect();
  const off = await admin.fetchOffsets({ groupId, topics: ['searchsync.public.items'] });
  await admin.disconnect();
  const committed = off[0].partitions[0].offset;
  console.log(`[smoke] kafkajs group consumed ${seen.length} events, committed items offset ${committed}`);
  if (seen.length < 7 || committed !== '5') process.exit(1);
})().catch(e => { console.error(e); process.exit(1); });
EOF
fi

# --- 8. kill -9 Connect, change data while it is down, restart -------------------------
kill -KILL "$CONNECT_PID"; wait "$CONNECT_PID" 2>/dev/null || true
psql_app <<'EOF'
INSERT INTO public.items (name) VALUES ('while-connect-down');
CREATE TABLE public.created_while_down (id int PRIMARY KEY);
INSERT INTO public.created_while_down VALUES (1);
EOF
start_connect
wait_task_running
expect_ops "$TOPIC_PREFIX.public.items" "r c u d t c"
expect_ops "$TOPIC_PREFIX.public.created_while_down" "c"

log "RSS: broker $(rss_mib "$BROKER_PID") MiB, connect $(rss_mib "$CONNECT_PID") MiB"
echo "1 passed, 0 failed"
