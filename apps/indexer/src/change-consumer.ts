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
import {
  BatchPipeline,
  type AppliedBatch,
  type ChangeApplier,
  type SourceRecord,
} from '@searchsync/indexing';
import { BackoffSchedule } from '@searchsync/retry';
import { groupProgress } from '@searchsync/stream-position';
import { CommitMetadata } from './commit-metadata';
import type { FaultInjection } from './fault-injection';
import type { IndexerMetrics } from './indexer-metrics';

export interface ChangeConsumerOptions {
  connection: Pick<KafkaConfig, 'brokers' | 'ssl' | 'sasl'>;
  groupId: string;
  topicPrefix: string;
  schemas: string[];
  /** `schema.table` names to consume; empty for all. */
  includeTables: string[];
  topicRefreshMs: number;
  /**
   * First delay before a crashed consumer is re-created; jittered, growing with failures close
   * together up to RESTART_MAX_DELAY_MS.
   */
  restartBackoffMs?: number;
  /** A consumer that has not joined its group for this long is re-created. */
  joinTimeoutMs?: number;
  /** Batches of one partition applied at once while the next is fetched (1: one at a time). */
  batchesInFlight?: number;
  /** Bytes (as stored: compressed) fetched per partition at once. */
  fetchMaxBytesPerPartition?: number;
}

/** A consumer that did not join its group in time (e.g. a coordinator that never answers). */
export class ConsumerJoinTimeoutError extends Error {
  constructor(groupId: string, timeoutMs: number) {
    super(`the consumer has not joined group ${groupId} in ${timeoutMs / 1000}s`);
    this.name = 'ConsumerJoinTimeoutError';
  }
}

/** A consumer that commits this long after its last failure starts its backoff afresh. */
const HEALTHY_AFTER_MS = 30_000;

/** Failures this far apart are not a series: the backoff starts afresh. */
const QUIET_AFTER_MS = 120_000;

/** Longest wait before a failed consumer is re-created. */
const RESTART_MAX_DELAY_MS = 30_000;

/** A replaced consumer gets this long to leave its group before it is abandoned. */
const DISCONNECT_TIMEOUT_MS = 15_000;

/** `work`, or a rejection with `timeout()` after `ms`; the timer never outlives the race. */
async function within<T>(work: Promise<T>, ms: number, timeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(timeout()), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** What the consumer is doing, for `/health` and the `consumer_running` gauge. */
export interface ConsumerStatus {
  /** True while changes are being consumed (or there is nothing to consume yet). */
  consuming: boolean;
  state: 'starting' | 'joining' | 'consuming' | 'resubscribing' | 'idle' | 'down' | 'stopping';
  /** Why not consuming, or what is going on, for a person. */
  detail: string;
  /** Table topics subscribed to. */
  topics: number;
  /** Re-creations after failures since the process started. */
  restarts: number;
  lastError?: string;
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
 *
 * The consumer is never left dead: kafkajs gives up on a consumer after a non-retriable error
 * (a `CRASH`), a `run()` or `connect()` can reject, a group can be lost. Every one of those
 * re-creates the consumer here, with backoff, from the last committed offsets; kafkajs's own
 * restart is turned off so that exactly one place decides.
 */
export class ChangeConsumer {
  private readonly logger = new Logger(ChangeConsumer.name);
  private readonly kafka: Kafka;
  private consumer: Consumer | null = null;
  /** The current consumer's batches in flight. */
  private pipeline: BatchPipeline | null = null;
  private topics = new Set<string>();
  private refreshTimer: NodeJS.Timeout | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  /** Every (re)subscription goes through this chain: never two consumers at once. */
  private restarting: Promise<void> | null = null;
  /** Bumped per (re)subscription: an abandoned one (join timeout) notices and gives up. */
  private generation = 0;
  private stopping = false;
  private state: ConsumerStatus['state'] = 'starting';
  private stateSince = Date.now();
  private detail = 'starting';
  private lastError: string | undefined;
  /**
   * Recent failures and the backoff they have reached: forgotten after a quiet two minutes, or
   * once a batch is committed 30 s after the last failure (the consumer demonstrably works again).
   */
  private failures = 0;
  private lastFailureAt = 0;
  private readonly restartBackoff: BackoffSchedule;
  /** What each commit tells the admin about freshness (see CommitMetadata). */
  private readonly commitMetadata = new CommitMetadata();
  private restarts = 0;
  readonly producer: Producer;
  /** One admin client for the process: topic refreshes and lag run every few seconds. */
  private readonly admin: Admin;

  constructor(
    private readonly options: ChangeConsumerOptions,
    private readonly applier: () => ChangeApplier,
    private readonly metrics: IndexerMetrics,
    private readonly faults?: FaultInjection,
    /** After a batch is applied, before its offsets are committed (document views). */
    private readonly afterApply?: (applied: AppliedBatch) => Promise<void>,
  ) {
    this.kafka = new Kafka({
      clientId: 'searchsync-indexer',
      ...options.connection,
      logLevel: logLevel.WARN,
      logCreator: () => (entry) => this.onKafkaLog(entry),
      retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 10_000 },
    });
    this.restartBackoff = new BackoffSchedule({
      initialDelayMs: options.restartBackoffMs ?? 1000,
      maxDelayMs: RESTART_MAX_DELAY_MS,
    });
    this.admin = this.kafka.admin();
    this.producer = this.kafka.producer({ allowAutoTopicCreation: true, idempotent: true });
    this.setState('starting', 'starting');
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

  status(now = Date.now()): ConsumerStatus {
    const seconds = Math.round((now - this.stateSince) / 1000);
    const joinTimeoutMs = this.options.joinTimeoutMs ?? 60_000;
    let consuming: boolean;
    let detail = this.detail;
    switch (this.state) {
      case 'consuming':
      case 'idle':
        consuming = true;
        break;
      case 'resubscribing':
        // A planned pause of a few seconds to add new tables' topics, not an outage.
        consuming = now - this.stateSince < joinTimeoutMs / 2;
        if (!consuming) detail = `${detail}, for ${seconds}s`;
        break;
      case 'joining':
        consuming = false;
        detail = `${detail} (for ${seconds}s)`;
        break;
      case 'starting':
      case 'down':
      case 'stopping':
        consuming = false;
        break;
    }
    return {
      consuming,
      state: this.state,
      detail,
      topics: this.topics.size,
      restarts: this.restarts,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  private setState(state: ConsumerStatus['state'], detail: string): void {
    if (state !== this.state) this.stateSince = Date.now();
    this.state = state;
    this.detail = detail;
    this.metrics.consumerRunning.set(this.status().consuming ? 1 : 0);
  }

  async start(): Promise<void> {
    await this.producer.connect();
    await this.admin.connect();
    await this.recreate('start');
    this.refreshTimer = setInterval(() => {
      this.watchdog();
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
    this.setState('stopping', 'the indexer is stopping');
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    await this.restarting;
    // Batches in flight finish (or give up) and are committed in order before the consumer goes.
    await this.pipeline?.close();
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
    const progress = await groupProgress(this.admin, this.options.groupId, [...this.topics]);
    for (const [topic, { pending }] of progress) {
      this.metrics.consumerLag.set({ topic }, Number(pending));
    }
  }

  private async refresh(): Promise<void> {
    const busy = () =>
      this.stopping ||
      this.restarting !== null ||
      this.restartTimer !== null ||
      this.state === 'down';
    if (busy()) return;
    const topics = await this.listTableTopics();
    // A crash during the await has set `down` and armed a restart (which lists topics itself):
    // saying `resubscribing` now would hide the outage.
    if (busy()) return;
    const added = [...topics].filter((topic) => !this.topics.has(topic));
    if (added.length === 0) return;
    this.logger.log(`new table topics: ${added.join(', ')}; re-subscribing`);
    this.setState('resubscribing', `re-subscribing to add ${added.length} new table topics`);
    await this.recreate('new topics');
  }

  /**
   * A consumer stuck before its group join outside a (re)subscription is replaced. (A join
   * inside one — where `run()` does it — is bounded by the join timeout of `recreate`.)
   */
  private watchdog(): void {
    // A re-subscription that drags on turns the gauge to 0 without a state change.
    this.metrics.consumerRunning.set(this.status().consuming ? 1 : 0);
    if (this.stopping || this.restarting || this.restartTimer) return;
    const joinTimeoutMs = this.options.joinTimeoutMs ?? 60_000;
    const stuck =
      (this.state === 'joining' || this.state === 'resubscribing') &&
      Date.now() - this.stateSince > joinTimeoutMs;
    if (!stuck) return;
    this.abandonConsumer();
    this.onConsumerFailure(
      'join timeout',
      new ConsumerJoinTimeoutError(this.options.groupId, joinTimeoutMs),
    );
  }

  /** Stops listening to the current consumer and lets it leave its group in the background. */
  private abandonConsumer(): void {
    this.generation += 1;
    const stuck = this.consumer;
    this.consumer = null;
    const pipeline = this.pipeline;
    this.pipeline = null;
    void (async () => {
      await pipeline?.close();
      await stuck?.disconnect();
    })().catch(() => undefined);
  }

  /**
   * Replaces the consumer now, through the one restart chain. The whole (re)subscription, the
   * group join inside `run()` included, is bounded by the join timeout: a join that never
   * completes becomes a failure with a restart instead of a chain that blocks every later one.
   */
  private async recreate(cause: string): Promise<void> {
    if (this.stopping) return;
    if (this.restarting) {
      await this.restarting;
      return;
    }
    // This re-creation supersedes one that was scheduled.
    if (this.restartTimer) {
      clearTimeout(this.restartTimer);
      this.restartTimer = null;
    }
    const joinTimeoutMs = this.options.joinTimeoutMs ?? 60_000;
    const generation = ++this.generation;
    this.restarting = within(
      this.resubscribe(generation),
      joinTimeoutMs,
      () => new ConsumerJoinTimeoutError(this.options.groupId, joinTimeoutMs),
    )
      .catch((error: Error) => {
        if (error instanceof ConsumerJoinTimeoutError && generation === this.generation) {
          this.abandonConsumer();
        }
        this.onConsumerFailure(
          error instanceof ConsumerJoinTimeoutError ? 'join timeout' : cause,
          error,
        );
      })
      .finally(() => (this.restarting = null));
    await this.restarting;
  }

  /**
   * The consumer is gone or cannot start: report it at once (health, gauge) and re-create it
   * after a backoff. Nothing is lost: uncommitted batches are read again.
   */
  private onConsumerFailure(cause: string, error: Error): void {
    if (this.stopping) return;
    // Not reset by a successful join: a consumer that joins and then crashes on every batch
    // must back off too.
    if (Date.now() - this.lastFailureAt > QUIET_AFTER_MS) this.forgetFailures();
    this.lastFailureAt = Date.now();
    this.failures += 1;
    const delay = this.restartBackoff.next();
    this.lastError = `${cause}: ${error.name}: ${error.message}`;
    this.logger.error(
      `Kafka consumer stopped (${this.lastError}); no changes are indexed until it is re-created in ${delay} ms`,
    );
    this.setState(
      'down',
      `no Kafka consumer running (${this.lastError}); re-creating it in ${delay} ms`,
    );
    if (this.restartTimer) return;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      this.restarts += 1;
      this.metrics.consumerRestarts.inc({ cause });
      void this.recreateAfterFailure(cause);
    }, delay);
  }

  /** The consumer works again: the next failure waits the shortest delay. */
  private forgetFailures(): void {
    this.failures = 0;
    this.restartBackoff.reset();
  }

  /**
   * The restart of a failed consumer. A (re)subscription still running when it is due may be
   * the one whose consumer failed (it crashed on its first batch, its join timed out): waiting
   * for it is no cure, so unless something re-created the consumer since (the state is no
   * longer `down`), a new one is created after it — never left for a refresh that `down` stops.
   */
  private async recreateAfterFailure(cause: string): Promise<void> {
    while (this.restarting) await this.restarting;
    if (this.stopping || this.state !== 'down' || this.restartTimer) return;
    await this.recreate(cause);
  }

  private async resubscribe(generation: number): Promise<void> {
    /** Abandoned by a join timeout (or stopping): what it created is let go, quietly. */
    const superseded = () => generation !== this.generation || this.stopping;
    const previous = this.consumer;
    const previousPipeline = this.pipeline;
    this.consumer = null;
    this.pipeline = null;
    if (previous) {
      await within(
        (async () => {
          await previousPipeline?.close();
          await previous.disconnect();
        })(),
        DISCONNECT_TIMEOUT_MS,
        () => new Error('disconnect timed out'),
      ).catch((error: Error) =>
        this.logger.warn(`previous consumer did not disconnect cleanly: ${error.message}`),
      );
    }
    if (superseded()) return;
    if (this.state !== 'resubscribing') this.setState('starting', 'creating the Kafka consumer');
    const topics = await this.listTableTopics();
    if (superseded()) return;
    this.topics = topics;
    this.metrics.subscribedTopics.set(topics.size);
    const consumer = this.kafka.consumer({
      groupId: this.options.groupId,
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
      // Compressed bytes: LZ4 shrinks Debezium's JSON (schema inline, ~5 kB a row) about tenfold,
      // so 512 KiB is a few thousand rows — a batch's memory, times the batches in flight.
      maxBytesPerPartition: this.options.fetchMaxBytesPerPartition ?? 512 * 1024,
      maxBytes: 4 * (this.options.fetchMaxBytesPerPartition ?? 512 * 1024),
      // kafkajs's own restart after a crash is off: onConsumerFailure re-creates the consumer.
      retry: { retries: 10, restartOnFailure: () => Promise.resolve(false) },
    });
    this.watch(consumer);
    this.commitMetadata.clear();
    const pipeline = new BatchPipeline(
      this.options.batchesInFlight ?? 2,
      (topic, partition, offset) =>
        consumer.commitOffsets([
          {
            topic,
            partition,
            offset,
            metadata: this.commitMetadata.forCommit(topic, partition, offset),
          },
        ]),
      (error) => this.onBatchFailure(consumer, error),
    );
    this.consumer = consumer;
    this.pipeline = pipeline;
    const letGo = () => {
      if (this.consumer === consumer) {
        this.consumer = null;
        this.pipeline = null;
      }
      void pipeline
        .close()
        .then(() => consumer.disconnect())
        .catch(() => undefined);
    };
    await consumer.connect();
    if (superseded()) return letGo();
    if (topics.size === 0) {
      this.logger.log('no table topics yet; waiting for the first change');
      this.setState('idle', 'no table topics yet: nothing to consume');
      return;
    }
    await consumer.subscribe({ topics: [...topics], fromBeginning: true });
    if (superseded()) return letGo();
    if (this.state !== 'resubscribing') {
      this.setState('joining', `joining group ${this.options.groupId}`);
    }
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      // Partitions are independent; within one, order is kept because a batch is applied in order.
      partitionsConsumedConcurrently: 4,
      eachBatch: (payload) => this.handleBatch(payload, pipeline),
    });
    if (superseded()) return letGo();
    this.logger.log(`consuming ${topics.size} table topics`);
  }

  /** Follows one consumer's life; events of a replaced consumer are ignored. */
  private watch(consumer: Consumer): void {
    const { GROUP_JOIN, CRASH } = consumer.events;
    consumer.on(GROUP_JOIN, () => {
      if (this.consumer !== consumer || this.stopping) return;
      this.lastError = undefined;
      this.setState('consuming', `consuming ${this.topics.size} table topics`);
    });
    consumer.on(CRASH, (event) => {
      if (this.consumer !== consumer) return;
      // Its batches in flight give up: their commits could not reach a stopped consumer anyway.
      void this.pipeline?.close();
      const error = event.payload.error;
      this.onConsumerFailure('crash', error instanceof Error ? error : new Error(String(error)));
    });
  }

  /**
   * A batch failed for a reason that is not one record's (those are dead-lettered): the consumer is
   * replaced, after a backoff, and reads again from the last offset committed in order.
   */
  private onBatchFailure(consumer: Consumer, error: unknown): void {
    if (this.consumer !== consumer || this.stopping) return;
    this.abandonConsumer();
    this.onConsumerFailure(
      'batch failed',
      error instanceof Error ? error : new Error(String(error)),
    );
  }

  private async handleBatch(payload: EachBatchPayload, pipeline: BatchPipeline): Promise<void> {
    const { batch } = payload;
    if (batch.messages.length === 0) return;
    this.faults?.throwIfConsumerCrashArmed();
    // Stopping, re-subscribing or failed: not started, not resolved; the next consumer reads it.
    if (!pipeline.accepting) return pipeline.close();
    const records = batch.messages.map((message): SourceRecord => ({
      topic: batch.topic,
      partition: batch.partition,
      offset: message.offset,
      key: message.key,
      value: message.value,
      headers: message.headers,
    }));
    const last = batch.messages[batch.messages.length - 1].offset;
    await pipeline.submit(batch.topic, batch.partition, last, async (order) => {
      const applied = await this.applier().apply(
        records,
        () => pipeline.open && payload.isRunning() && !payload.isStale(),
        () => payload.heartbeat(),
        order,
      );
      // A failure here fails the batch like a failed write: it is delivered again.
      await this.afterApply?.(applied);
      // Before the pipeline commits it: the commit carries this batch's progress.
      this.commitMetadata.noteBatch(
        batch.topic,
        batch.partition,
        BigInt(last) + 1n,
        applied.newestSourceTsMs,
      );
      // Not at once: a consumer that commits one partition and crashes on another keeps backing off.
      if (this.failures > 0 && Date.now() - this.lastFailureAt > HEALTHY_AFTER_MS) {
        this.forgetFailures();
      }
    });
    // The next fetch starts after this batch; its offset is committed only once it and every
    // batch before it have landed (by the pipeline).
    payload.resolveOffset(last);
  }
}
