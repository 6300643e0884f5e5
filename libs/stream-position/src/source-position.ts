import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';

/**
 * Where Debezium's stream stands, as Kafka Connect has committed it: Connect writes a source
 * offset to its offset topic only once every record before it has been acknowledged by Kafka
 * (per source partition; Debezium PostgreSQL has one). Changes stream in commit order, so a
 * committed offset at LSN `p` proves that every transaction that committed before `p` is in its
 * table's topic. The slot's `confirmed_flush_lsn` proves less: Debezium flushes the position
 * of the last record Kafka acknowledged, which may overtake one still in flight to another topic.
 */
export interface SourcePosition {
  /** The Connect connector the offset is keyed by. */
  connector: string;
  /** The LSN of the last change (or commit) the committed offset points at. */
  lsn: bigint;
  /** When we read it. */
  seenAt: number;
}

/**
 * The stream position of one record of the Connect offset topic, when it is Debezium's offset
 * for `server` (the topic prefix) and points into the WAL stream; null for other connectors,
 * tombstones (offsets reset) and offsets of an initial snapshot still being read, which say
 * nothing about streamed transactions.
 */
export function parseSourceOffset(
  key: Buffer | null,
  value: Buffer | null,
  server: string,
): { connector: string; lsn: bigint | null } | null {
  if (!key) return null;
  let parsedKey: unknown;
  try {
    parsedKey = JSON.parse(key.toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(parsedKey) || parsedKey.length !== 2) return null;
  const [connector, partition] = parsedKey as [unknown, unknown];
  if (typeof connector !== 'string') return null;
  if (typeof partition !== 'object' || partition === null) return null;
  if ((partition as { server?: unknown }).server !== server) return null;
  if (!value) return { connector, lsn: null };
  let offset: Record<string, unknown>;
  try {
    offset = JSON.parse(value.toString('utf8')) as Record<string, unknown>;
  } catch {
    return { connector, lsn: null };
  }
  if (typeof offset !== 'object' || offset === null) return { connector, lsn: null };
  const inSnapshot =
    offset.snapshot !== undefined &&
    offset.snapshot !== false &&
    offset.snapshot !== 'false' &&
    offset.last_snapshot_record !== true;
  if (inSnapshot) return { connector, lsn: null };
  const lsn = offset.lsn;
  if (typeof lsn !== 'number' || !Number.isSafeInteger(lsn) || lsn < 0) {
    return { connector, lsn: null };
  }
  return { connector, lsn: BigInt(lsn) };
}

export interface SourcePositionOptions {
  /** Kafka Connect's `offset.storage.topic`. */
  offsetTopic: string;
  /** Debezium's `topic.prefix`: the `server` of its source partition. */
  server: string;
  /** Prefix of the throw-away consumer group (never commits; gone when it leaves). */
  groupIdPrefix: string;
  log: (level: 'warn' | 'log', message: string) => void;
}

const RETRY_MS = 5000;

interface Waiter {
  lsn: bigint;
  resolve: (position: SourcePosition | null) => void;
  timer: NodeJS.Timeout;
}

/**
 * Follows the Connect offset topic from its beginning and keeps the latest Debezium position
 * of our stream. Positions count only after the topic has been read to the end once: before
 * that, an older offset could stand in for a newer reset.
 */
export class SourcePositionFollower {
  private consumer: Consumer | null = null;
  /** The start-up in progress (admin checks, consumer creation and join). */
  private following: Promise<void> | null = null;
  private latest: SourcePosition | null = null;
  private caughtUp = false;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private readonly waiters = new Set<Waiter>();
  private failure: string | null = null;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: SourcePositionOptions,
  ) {}

  /** Starts following in the background; failures are retried, never thrown. */
  start(): void {
    if (this.stopped || this.consumer || this.following || this.retryTimer) return;
    const following = this.follow().catch((error: unknown) => this.retryLater(error));
    this.following = following;
    void following.finally(() => {
      if (this.following === following) this.following = null;
    });
  }

  /** Stops following; a start-up in progress is let finish first, then disconnected. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    for (const waiter of this.waiters) this.settle(waiter, null);
    await this.following;
    const consumer = this.consumer;
    this.consumer = null;
    await consumer?.disconnect().catch(() => undefined);
  }

  /** The committed position, once the topic has been read to its end; else null. */
  current(): SourcePosition | null {
    return this.caughtUp ? this.latest : null;
  }

  /** Why no position is known, for error messages; null when following. */
  problem(): string | null {
    if (this.failure) return this.failure;
    if (!this.caughtUp)
      return `still reading Kafka Connect's offset topic ${this.options.offsetTopic}`;
    if (!this.latest) return `no committed Debezium offset for "${this.options.server}" yet`;
    return null;
  }

  /** Resolves with the position once it has reached `lsn`, or null at the deadline. */
  waitFor(lsn: bigint, deadline: number): Promise<SourcePosition | null> {
    const now = this.current();
    if (now && now.lsn >= lsn) return Promise.resolve(now);
    if (this.stopped) return Promise.resolve(null);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        lsn,
        resolve,
        timer: setTimeout(() => this.settle(waiter, null), Math.max(0, deadline - Date.now())),
      };
      this.waiters.add(waiter);
    });
  }

  private settle(waiter: Waiter, position: SourcePosition | null): void {
    if (!this.waiters.delete(waiter)) return;
    clearTimeout(waiter.timer);
    waiter.resolve(position);
  }

  private retryLater(error: unknown): void {
    this.failure = `cannot read Kafka Connect's offset topic ${this.options.offsetTopic}: ${error instanceof Error ? error.message : String(error)}`;
    this.options.log('warn', `${this.failure}; retrying in ${RETRY_MS / 1000}s`);
    const consumer = this.consumer;
    this.consumer = null;
    void consumer?.disconnect().catch(() => undefined);
    if (this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.start();
    }, RETRY_MS);
  }

  private async follow(): Promise<void> {
    const { offsetTopic } = this.options;
    const admin = this.kafka.admin();
    let records: bigint;
    try {
      await admin.connect();
      if (!(await admin.listTopics()).includes(offsetTopic)) {
        throw new Error(
          'the topic does not exist (is Kafka Connect running with this offset.storage.topic?)',
        );
      }
      records = (await admin.fetchTopicOffsets(offsetTopic)).reduce(
        (sum, p) => sum + BigInt(p.high) - BigInt(p.low),
        0n,
      );
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    if (this.stopped) return;
    const consumer = this.kafka.consumer({
      groupId: `${this.options.groupIdPrefix}-${randomUUID()}`,
      allowAutoTopicCreation: false,
      // Connect commits about once a second: be told within a tenth of that.
      maxWaitTimeInMs: 100,
      retry: { retries: 5, restartOnFailure: () => Promise.resolve(false) },
    });
    this.consumer = consumer;
    consumer.on(consumer.events.CRASH, (event) => {
      if (this.consumer === consumer) this.retryLater(event.payload.error);
    });
    await consumer.connect();
    if (this.stopped) return;
    await consumer.subscribe({ topics: [offsetTopic], fromBeginning: true });
    if (this.stopped) return;
    if (records === 0n) this.caughtUp = true;
    await consumer.run({
      autoCommit: false,
      eachBatch: ({ batch }) => {
        for (const message of batch.messages) {
          const parsed = parseSourceOffset(message.key, message.value, this.options.server);
          if (!parsed) continue;
          this.latest =
            parsed.lsn === null
              ? null
              : { connector: parsed.connector, lsn: parsed.lsn, seenAt: Date.now() };
        }
        if (batch.isEmpty() || BigInt(batch.lastOffset()) + 1n >= BigInt(batch.highWatermark)) {
          this.caughtUp = true;
        }
        this.failure = null;
        this.notify();
        return Promise.resolve();
      },
    });
  }

  private notify(): void {
    const now = this.current();
    if (!now) return;
    for (const waiter of this.waiters) if (now.lsn >= waiter.lsn) this.settle(waiter, now);
  }
}
