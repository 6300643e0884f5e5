import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { loadConfig, searchConnection, sharedEnvSchema } from '@searchsync/config';
import {
  ChangeApplier,
  CountingMetrics,
  InMemoryDeadLetters,
  type ApplierOptions,
  type SourceRecord,
  type AppliedBatch,
} from '@searchsync/indexing';
import {
  createSearchEngine,
  type JsonObject,
  type SearchEngine,
  type SearchEngineConnection,
} from '@searchsync/search-engine';

// The applier's warnings (retries, dead letters) are what these tests provoke: not worth printing.
Logger.overrideLogger(['error']);

/** The search engine exactly as the apps reach it: SEARCH_URL and the other SEARCH_* variables. */
export function engineConnection(): SearchEngineConnection {
  return searchConnection(loadConfig(sharedEnvSchema));
}

/** The engine's base URL, for the few admin calls the engine interface has no reason to offer. */
const searchUrl = (): string => loadConfig(sharedEnvSchema).SEARCH_URL;

/** A raw call to the engine (index settings, close/open): test set-up only. */
export async function engineRequest(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(new URL(path, searchUrl()), {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as unknown) : null };
}

const FIXTURES = {
  /** libs/change-events: one table's create, updates (TOAST placeholders), deletes, truncate. */
  opsProbe: join(
    __dirname,
    '..',
    '..',
    '..',
    'libs',
    'change-events',
    'src',
    'fixtures',
    'ops-probe.records.json',
  ),
  /** This tier's own: a row whose jsonb value the engine refuses between two it accepts. */
  refusedRow: join(__dirname, '..', 'fixtures', 'refused-row.records.json'),
};

/**
 * Recorded Debezium records as the consumer hands them to the applier; the offset is the
 * record's place in the file.
 */
export function recorded(fixture: keyof typeof FIXTURES): SourceRecord[] {
  const records = JSON.parse(readFileSync(FIXTURES[fixture], 'utf8')) as {
    topic: string;
    key: string | null;
    value: string | null;
  }[];
  return records.map((r, i) => ({
    topic: r.topic,
    partition: 0,
    offset: String(i),
    key: r.key === null ? null : Buffer.from(r.key),
    value: r.value === null ? null : Buffer.from(r.value),
  }));
}

/**
 * An index prefix no other test uses: a table's index is `<prefix>.<schema>.<table>`, so every
 * test writes to indices of its own whatever the table names of the recorded events.
 */
function uniquePrefix(purpose: string): string {
  return `medium-${purpose}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** Retries in this tier wait tens of milliseconds, not seconds. */
const FAST_RETRIES: Partial<ApplierOptions> = { retryDelayMs: 50, retryMaxDelayMs: 250 };

/**
 * One ChangeApplier from the library, writing to the real engine under a prefix of its own; dead
 * letters are collected in memory (what would be published to Kafka: the edge of this tier).
 */
export class IndexingHarness {
  readonly letters = new InMemoryDeadLetters();
  readonly metrics = new CountingMetrics();
  readonly applier: ChangeApplier;

  private constructor(
    /** Where assertions read and clean-up deletes: always the engine itself. */
    readonly engine: SearchEngine,
    readonly prefix: string,
    /** What the applier writes through (the engine, or a way to it that may fail). */
    applierEngine: SearchEngine,
    options: Partial<ApplierOptions>,
  ) {
    this.applier = new ChangeApplier(applierEngine, this.letters, this.metrics, {
      indexPrefix: prefix,
      maxActions: 500,
      maxBytes: 5_000_000,
      ...FAST_RETRIES,
      ...options,
    });
  }

  static async open(
    purpose: string,
    options: { applierEngine?: SearchEngine } & Partial<ApplierOptions> = {},
  ): Promise<IndexingHarness> {
    const { applierEngine, ...applierOptions } = options;
    const engine = await createSearchEngine(engineConnection());
    return new IndexingHarness(
      engine,
      uniquePrefix(purpose),
      applierEngine ?? engine,
      applierOptions,
    );
  }

  /** Applies one batch as the consumer does, with a heartbeat that always succeeds. */
  apply(records: SourceRecord[]): Promise<AppliedBatch> {
    return this.applier.apply(
      records,
      () => true,
      () => Promise.resolve(),
    );
  }

  alias(table: string, schema = 'public'): string {
    return `${this.prefix}.${schema}.${table}`;
  }

  document(table: string, id: string): Promise<JsonObject | null> {
    return this.engine.getDocument(this.alias(table), id);
  }

  count(table: string): Promise<number> {
    return this.engine.count(this.alias(table));
  }

  /** Deletes every index of this test's prefix (blocks lifted first), then lets the engine go. */
  async close(): Promise<void> {
    try {
      const { body } = await engineRequest(
        'GET',
        `/${this.prefix}.*?expand_wildcards=all&allow_no_indices=true&filter_path=*.settings.index.provided_name`,
      );
      const indices = Object.keys((body as Record<string, unknown> | null) ?? {});
      if (indices.length > 0) {
        await engineRequest('PUT', `/${indices.join(',')}/_settings`, {
          'index.blocks.read_only_allow_delete': null,
          'index.blocks.write': null,
        });
        await engineRequest('DELETE', `/${indices.join(',')}`);
      }
    } finally {
      await this.engine.close();
    }
  }
}
