import type { IHeaders } from 'kafkajs';

/** One Kafka record of a table topic, as the indexer hands it to the applier. */
export interface SourceRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** The Kafka record's headers (a replay by the admin names the dead letter it re-drives). */
  headers?: IHeaders;
}
