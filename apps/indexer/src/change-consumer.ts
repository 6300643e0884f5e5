import { Logger } from '@nestjs/common';
import {
  Kafka,
  logLevel,
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type KafkaConfig,
  type LogEntry,
  type Producer,
} from 'kafkajs';
import type { ChangeApplier } from './change-applier';
import { IndexerStoppingError } from './change-applier';
import type { IndexerMetrics } from './indexer-metrics';

export interface ChangeConsumerOptions {
  connection: Pick<KafkaConfig, 'brokers' | 'ssl' | 'sasl'>;
  groupId: string;
  topicPrefix: string;
  schemas: string[];
  /** `schema.table` names to consume; empty for all. */
  includeTables: string[];
  topicRefreshMs: number;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * `<prefix>.<schema>.<table>` for the synced schemas only: Debezium's signal table topic, the
 * heartbeat topic and our dead-letter topic stay out.
 */
export function tableTopicPattern(prefix: string, schemas: string[]): RegExp {
  const schemaAlternatives = schemas.map(escapeRegExp).join('|');
  return new RegExp(`^${escapeRegExp(prefix)}\\.(?:${schemaAlternatives})\\.[^.]+$`);
}

/**
 * Consumes every table topic as one consumer group. kafkajs fixes a pattern subscription's
 * topics when it subscribes, so new tables' topics are looked for periodically and the
 * consumer is re-created when the set changes.
 */
export class ChangeConsumer {
  private readonly logger = new Logger(ChangeConsumer.name);
  private readonly kafka: Kafka;
  private consumer: Consumer | null = null;
  private topics = new Set<string>();
  private refreshTimer: NodeJS.Timeout | null = null;
  private restarting: Promise<void> | null = null;
  private stopping = false;
  readonly producer: Producer;
  /** One admin client for the process: topic refreshes and lag run every few seconds. */
  private readonly admin: Admin;

  constructor(
    private readonly options: ChangeConsumerOptions,
    private readonly applier: () => ChangeApplier,
    private readonly metrics: IndexerMetrics,
  ) {
    this.kafka = new Kafka({
      clientId: 'searchsync-indexer',
      ...options.connection,
      logLevel: logLevel.WARN,
      logCreator: () => (entry) => this.onKafkaLog(entry),
      retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 10_000 },
    });
    this.admin = this.kafka.admin();
    this.producer = this.kafka.producer({ allowAutoTopicCreation: true, idempotent: true });
  }

  /** kafkajs logs through our logger; a silent offset reset becomes a loud, counted event. */
  private onKafkaLog({ level, log }: LogEntry): void {
    const { message, ...extra } = log;
    if (message.startsWith('Offset out of range, resetting')) {
      const topic = String(extra.topic);
      this.metrics.offsetResets.inc({ topic });
      this.logger.error(
        `${topic}[${String(extra.partition)}]: changes were deleted from Kafka (retention) before the indexer read them; documents may be missing — resync the table (POST /v1/tables/{table}/resync on the admin) and raise the topic retention`,
      );
      return;
    }
    const text = `kafkajs: ${message}${extra.error ? ` (${String(extra.error)})` : ''}`;
    if (level === logLevel.ERROR) this.logger.error(text);
    else if (level === logLevel.WARN) this.logger.warn(text);
    else this.logger.debug(text);
  }

  async start(): Promise<void> {
    await this.producer.connect();
    await this.admin.connect();
    await this.resubscribe();
    this.refreshTimer = setInterval(() => {
      this.refresh().catch((error: Error) =>
        this.logger.warn(`topic refresh failed: ${error.message}`),
      );
      this.measureLag().catch((error: Error) =>
        this.logger.warn(`lag measurement failed: ${error.message}`),
      );
    }, this.options.topicRefreshMs);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    await this.restarting;
    // disconnect() waits for the batch in flight, so its offsets are committed or not at all.
    await this.consumer?.disconnect();
    await this.producer.disconnect();
    await this.admin.disconnect();
  }

  private async listTableTopics(): Promise<Set<string>> {
    const pattern = tableTopicPattern(this.options.topicPrefix, this.options.schemas);
    const included = new Set(
      this.options.includeTables.map((name) => `${this.options.topicPrefix}.${name}`),
    );
    return new Set(
      (await this.admin.listTopics()).filter(
        (topic) => pattern.test(topic) && (included.size === 0 || included.has(topic)),
      ),
    );
  }

  /** Records not yet committed by the group, per topic: end offsets minus committed offsets. */
  private async measureLag(): Promise<void> {
    if (this.topics.size === 0) return;
    const topics = [...this.topics];
    const committed = await this.admin.fetchOffsets({ groupId: this.options.groupId, topics });
    for (const topic of topics) {
      const ends = await this.admin.fetchTopicOffsets(topic);
      const done = committed.find((entry) => entry.topic === topic)?.partitions ?? [];
      let lag = 0n;
      for (const end of ends) {
        const offset = done.find((p) => p.partition === end.partition)?.offset ?? '-1';
        const from = offset === '-1' ? BigInt(end.low) : BigInt(offset);
        lag += BigInt(end.high) > from ? BigInt(end.high) - from : 0n;
      }
      this.metrics.consumerLag.set({ topic }, Number(lag));
    }
  }

  private async refresh(): Promise<void> {
    if (this.stopping || this.restarting) return;
    const topics = await this.listTableTopics();
    const added = [...topics].filter((topic) => !this.topics.has(topic));
    if (added.length === 0) return;
    this.logger.log(`new table topics: ${added.join(', ')}; re-subscribing`);
    this.restarting = this.resubscribe().finally(() => (this.restarting = null));
    await this.restarting;
  }

  private async resubscribe(): Promise<void> {
    if (this.consumer) await this.consumer.disconnect();
    const topics = await this.listTableTopics();
    this.topics = topics;
    this.metrics.subscribedTopics.set(topics.size);
    const consumer = this.kafka.consumer({
      groupId: this.options.groupId,
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
      // Debezium JSON with inline schemas is ~2-3 kB a row: fetch a few thousand rows at once.
      maxBytesPerPartition: 8 * 1024 * 1024,
      maxBytes: 32 * 1024 * 1024,
      // A lost membership (e.g. a session that expired while the engine was down) is not the
      // end: rejoin and go on from the last committed offsets.
      retry: { retries: 10, restartOnFailure: () => Promise.resolve(true) },
    });
    this.consumer = consumer;
    await consumer.connect();
    if (topics.size === 0) {
      this.logger.log('no table topics yet; waiting for the first change');
      return;
    }
    await consumer.subscribe({ topics: [...topics], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      // Partitions are independent; within one, order is kept because a batch is applied in order.
      partitionsConsumedConcurrently: 4,
      eachBatch: (payload) => this.handleBatch(payload, consumer),
    });
    this.logger.log(`consuming ${topics.size} table topics`);
  }

  private async handleBatch(payload: EachBatchPayload, consumer: Consumer): Promise<void> {
    const { batch } = payload;
    if (batch.messages.length === 0) return;
    const records = batch.messages.map((message) => ({
      topic: batch.topic,
      partition: batch.partition,
      offset: message.offset,
      key: message.key,
      value: message.value,
    }));
    try {
      await this.applier().apply(
        records,
        () => payload.isRunning() && !payload.isStale(),
        () => payload.heartbeat(),
      );
    } catch (error) {
      if (error instanceof IndexerStoppingError) return;
      throw error;
    }
    const last = batch.messages[batch.messages.length - 1].offset;
    payload.resolveOffset(last);
    // Committed only now: everything up to `last` is in the engine or the dead-letter topic.
    await consumer.commitOffsets([
      { topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() },
    ]);
  }
}
