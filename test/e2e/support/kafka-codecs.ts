import { registerKafkaCodecs } from '@searchsync/config';

// Debezium's records are LZ4-compressed (connectors/debezium-postgres.json): every test that
// reads a table topic with its own kafkajs client needs the codec the apps register.
registerKafkaCodecs();
