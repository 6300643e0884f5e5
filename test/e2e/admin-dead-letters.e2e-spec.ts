import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import type { Client } from 'pg';
import { admin, holdPart, releasePart, search } from './support/admin';
import { apiGet, database, eventually, stackService, uniqueTable } from './support/stack';
import { DEAD_LETTER_CLASSES, DEAD_LETTER_HEADERS } from '@searchsync/change-events';

interface Position {
  topic: string;
  partition: number;
  offset: string;
}

interface DeadLetter {
  id: string;
  status: 'unresolved' | 'replayed' | 'discarded';
  reasonClass: string;
  reason: string;
  table: string | null;
  source: Position | null;
  time: string;
  key: string | null;
  excerpt: string | null;
  resolution: { status: string; at: string; by: string; note?: string } | null;
}

interface Page {
  total: number;
  items: DeadLetter[];
  next: string | null;
}

interface Operation {
  action: string;
  done: { id: string; table: string | null; replayedTo?: Position }[];
  skipped: { id: string; why: string }[];
  remaining: number;
}

interface Pipeline {
  status: string;
  reasons: string[];
  deadLetters: number | null;
  indexer: { reachable: boolean; consuming: boolean | null };
  tables: { table: string; deadLetters: number | null }[];
}

// Records from indexers older than the classification have none.
const REASON_CLASSES: readonly string[] = [...DEAD_LETTER_CLASSES, 'unclassified'];

const kafka = new Kafka({
  clientId: 'e2e-dead-letters',
  brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
  logLevel: logLevel.NOTHING,
});
const topicPrefix = process.env.SEARCHSYNC_TOPIC_PREFIX ?? 'searchsync';
const deadLetterTopic = process.env.INDEXER_DEAD_LETTER_TOPIC ?? 'searchsync.dead-letter';
/** A TRUNCATE as Debezium wrote it on this stack (recorded). */
const recordedTruncate = (
  JSON.parse(
    readFileSync(
      join(__dirname, '../../libs/change-events/src/fixtures/ops-probe.records.json'),
      'utf8',
    ),
  ) as { value: string | null }[]
).find((r) => r.value?.includes('"op":"t"'));
const indexPrefix = process.env.SEARCHSYNC_INDEX_PREFIX ?? 'searchsync';

const documentOf = (table: string, id: string) =>
  apiGet<{ source: Record<string, unknown> }>(`/v1/tables/${table}/documents/${id}`);
const listOf = (query: string) => admin<Page>('GET', `/v1/dead-letters?${query}`);
const pipeline = () => admin<Pipeline>('GET', '/v1/pipeline');

async function ensureRunning(part: string): Promise<void> {
  if (stackService(part)?.state === 'held') await releasePart(part);
}

describe('connector admin: dead letters', () => {
  let db: Client;
  const stray: string[] = [];

  beforeAll(async () => {
    db = await database();
  });

  afterAll(async () => {
    await ensureRunning('indexer');
    for (const index of stray) await search('DELETE', `/${index}`).catch(() => undefined);
    await db.end();
  });

  it('lists dead letters, replays them after the cause is fixed (the row appears), discards the rest; health counts unresolved only', async () => {
    const table = uniqueTable('deadletter');
    const qualified = `public.${table}`;
    const topic = `${topicPrefix}.${qualified}`;
    const alias = `${indexPrefix}.${qualified}`;
    await db.query(`create table ${table} (id int primary key, name text, secret_token text)`);
    await db.query(`insert into ${table} values (1, 'before the fault', 'hunter2')`);
    await eventually(
      () => documentOf(table, '1'),
      (r) => r.status === 200,
      { what: 'table synced', timeoutMs: 90_000 },
    );

    // The fault: an operator attaches a second index to the table's alias, so the engine has
    // no write index and refuses every write of this table (400, not retryable).
    const strayIndex = `e2e-stray-${table.replace(/_/g, '-')}`;
    stray.push(strayIndex);
    await search('PUT', `/${strayIndex}`, { aliases: { [alias]: {} } });
    await db.query(
      `insert into ${table} values (2, 'written while the alias was broken', 's3cr3t')`,
    );
    // Row 3 comes and goes while the alias is broken: both of its changes are dead-lettered.
    await db.query(`insert into ${table} values (3, 'deleted before the fix', null)`);
    await db.query(`delete from ${table} where id = 3`);

    // And a record no indexer can decode, produced straight to the table topic.
    const producer = kafka.producer();
    await producer.connect();
    const [garbage] = await producer.send({
      topic,
      messages: [{ key: '{"id":', value: 'this is not a change event' }],
    });
    await producer.disconnect();

    const listed = await eventually(
      () => listOf(`table=${qualified}`),
      (r) => r.status === 200 && r.body.total === 4,
      { what: 'the four dead letters listed', timeoutMs: 90_000 },
    );
    const find = (test: (l: DeadLetter) => boolean) => {
      const found = listed.body.items.find(test);
      if (!found) throw new Error(`not listed: ${JSON.stringify(listed.body.items)}`);
      return found;
    };
    const rowLetter = find((l) => l.excerpt?.includes('written while') === true);
    const goneInsert = find((l) => l.excerpt?.includes('deleted before') === true);
    const goneDelete = find((l) => l.excerpt?.startsWith('{"op":"d"') === true);
    const garbageLetter = find((l) => l.source?.offset === garbage.baseOffset);
    expect(rowLetter).toMatchObject({
      id: expect.stringMatching(/^\d+:\d+$/),
      status: 'unresolved',
      table: qualified,
      source: { topic, partition: expect.any(Number), offset: expect.stringMatching(/^\d+$/) },
      reason: expect.stringMatching(/write index/),
      resolution: null,
    });
    expect(REASON_CLASSES).toContain(rowLetter.reasonClass);
    expect(goneDelete.reasonClass).toBe(rowLetter.reasonClass);
    expect(Math.abs(Date.parse(rowLetter.time) - Date.now())).toBeLessThan(10 * 60_000);
    // The excerpt shows the row, with the secret-looking column redacted.
    expect(rowLetter.excerpt).toMatch(/"after":\{"id":2,/);
    expect(rowLetter.excerpt).toMatch(/"secret_token":"\*{8}"/);
    expect(rowLetter.excerpt).not.toMatch(/s3cr3t/);
    expect(garbageLetter).toMatchObject({
      table: qualified,
      source: { topic, partition: garbage.partition, offset: garbage.baseOffset },
      excerpt: 'this is not a change event',
      key: '{"id":',
    });
    expect(REASON_CLASSES).toContain(garbageLetter.reasonClass);
    expect(garbageLetter.reasonClass).not.toBe(rowLetter.reasonClass);

    // Filters: the table without schema, the reason class, one by id; paging.
    expect((await listOf(`table=${table}`)).body.total).toBe(4);
    const byClass = await listOf(`table=${table}&reason=${garbageLetter.reasonClass}`);
    expect(byClass.body.items.map((l) => l.id)).toEqual([garbageLetter.id]);
    const firstPage = await listOf(`table=${table}&limit=3`);
    expect(firstPage.body).toMatchObject({ total: 4, next: firstPage.body.items[2].id });
    const secondPage = await listOf(`table=${table}&limit=3&after=${firstPage.body.next}`);
    expect(secondPage.body).toMatchObject({ total: 4, next: null });
    expect([...firstPage.body.items, ...secondPage.body.items].map((l) => l.id)).toEqual(
      listed.body.items.map((l) => l.id),
    );
    const one = await admin<DeadLetter>('GET', `/v1/dead-letters/${rowLetter.id}`);
    expect(one.body).toMatchObject({ id: rowLetter.id, excerpt: rowLetter.excerpt });

    const degraded = await eventually(
      pipeline,
      (r) => r.body.tables?.find((t) => t.table === qualified)?.deadLetters === 4,
      { what: 'pipeline counts the four dead letters of the table', timeoutMs: 30_000 },
    );
    expect(degraded.body.deadLetters).toBeGreaterThanOrEqual(4);
    expect(degraded.body.status).not.toBe('ok');
    // The reason names the five tables with most dead letters; a shared stack may have others.
    expect(degraded.body.reasons.join('\n')).toMatch(/\d+ unresolved dead letters \(.*\): GET/);

    // A replay of a record that still cannot be applied is dead-lettered again, as a new entry.
    // A record the admin cannot decode is not replayed: whether its row still exists cannot be
    // checked.
    const again = await admin<Operation>('POST', '/v1/dead-letters/replay', {
      ids: [rowLetter.id, garbageLetter.id],
      by: 'e2e',
    });
    expect(again.status).toBe(200);
    expect(again.body.done).toEqual([
      { id: rowLetter.id, table: qualified, replayedTo: expect.objectContaining({ topic }) },
    ]);
    expect(again.body.skipped).toEqual([
      { id: garbageLetter.id, why: expect.stringMatching(/cannot be decoded/) },
    ]);
    const replayedTo = again.body.done[0].replayedTo;
    const refailed = await eventually(
      () => listOf(`table=${qualified}`),
      (r) => r.body.items?.some((l) => l.source?.offset === replayedTo?.offset),
      { what: 'the replayed row dead-lettered again', timeoutMs: 60_000 },
    );
    const newRow = refailed.body.items.find((l) => l.source?.offset === replayedTo?.offset);
    expect(newRow).toMatchObject({ status: 'unresolved', reasonClass: rowLetter.reasonClass });
    expect(newRow?.excerpt).toContain('written while');
    expect(newRow?.id).not.toBe(rowLetter.id);

    // Dead letters as the indexer writes them in cases this stack cannot provoke without
    // changing shared settings: one whose value was too large for the dead-letter topic (value
    // left out, the source position kept) — for the re-driven row and for an offset Kafka does
    // not have — and a TRUNCATE.
    const crafted = kafka.producer();
    await crafted.connect();
    const headersOf = (position: Position, reasonClass: string, reason: string) => ({
      [DEAD_LETTER_HEADERS.reason]: reason,
      [DEAD_LETTER_HEADERS.reasonClass]: reasonClass,
      [DEAD_LETTER_HEADERS.sourceTopic]: position.topic,
      [DEAD_LETTER_HEADERS.sourcePartition]: String(position.partition),
      [DEAD_LETTER_HEADERS.sourceOffset]: position.offset,
      [DEAD_LETTER_HEADERS.table]: qualified,
      [DEAD_LETTER_HEADERS.time]: String(Date.now()),
    });
    const tooLarge = `${rowLetter.reason} (the original value, 2000000 bytes, exceeds the dead-letter topic's max.message.bytes and was left out: read it from the source topic, partition and offset)`;
    const rowKey = JSON.stringify({
      schema: {
        type: 'struct',
        fields: [{ type: 'int32', optional: false, field: 'id' }],
        optional: false,
        name: `${topic}.Key`,
      },
      payload: { id: 2 },
    });
    const sent = await crafted.send({
      topic: deadLetterTopic,
      acks: -1,
      messages: [
        {
          key: rowKey,
          value: null,
          headers: headersOf(replayedTo as Position, 'too_large', tooLarge),
        },
        {
          key: rowKey,
          value: null,
          headers: headersOf({ topic, partition: 0, offset: '999999999' }, 'too_large', tooLarge),
        },
        {
          key: null,
          value: recordedTruncate?.value ?? null,
          headers: headersOf({ topic, partition: 0, offset: '0' }, 'rejected', 'rejected: e2e'),
        },
      ],
    });
    await crafted.disconnect();
    expect(sent.length).toBeGreaterThan(0);
    // Five real letters of the table (one of them re-driven) and the three crafted ones.
    const craftedList = await eventually(
      () => listOf(`table=${qualified}&status=all`),
      (r) => r.body.total === 8,
      { what: 'the crafted dead letters listed', timeoutMs: 30_000 },
    );
    const craftedOne = (test: (l: DeadLetter) => boolean) => {
      const found = craftedList.body.items.filter(test);
      if (found.length !== 1) throw new Error(`not one: ${JSON.stringify(craftedList.body.items)}`);
      return found[0];
    };
    const payloadless = craftedOne(
      (l) => l.reasonClass === 'too_large' && l.source?.offset === replayedTo?.offset,
    );
    const payloadGone = craftedOne(
      (l) => l.reasonClass === 'too_large' && l.source?.offset === '999999999',
    );
    const truncate = craftedOne((l) => l.reason === 'rejected: e2e');
    const craftedIds = [payloadless.id, payloadGone.id, truncate.id];
    expect(payloadless).toMatchObject({ reasonClass: 'too_large', excerpt: null });
    expect(truncate.excerpt).toContain('"op":"t"');

    // The fix: the stray index leaves the alias.
    await search('POST', '/_aliases', { actions: [{ remove: { index: strayIndex, alias } }] });
    await search('DELETE', `/${strayIndex}`);

    // The payload-less letter is replayed with its original, read back from the table topic;
    // when the original is gone it is skipped (never sent as an empty record), and a truncate is
    // never replayed.
    const originals = await admin<Operation>('POST', '/v1/dead-letters/replay', {
      ids: craftedIds,
      by: 'e2e',
    });
    expect(originals.body.done.map((d) => d.id)).toEqual([payloadless.id]);
    expect(originals.body.skipped).toEqual([
      {
        id: payloadGone.id,
        why: `the original is no longer in ${topic}; resync the table`,
      },
      { id: truncate.id, why: expect.stringMatching(/resync the table instead/) },
    ]);
    const appeared = await eventually(
      () => documentOf(table, '2'),
      (r) => r.status === 200,
      { what: 'the row of the payload-less letter indexed', timeoutMs: 60_000 },
    );
    expect(appeared.body.source).toMatchObject({
      id: 2,
      name: 'written while the alias was broken',
    });

    // Replay by table and class: the old insert of the row deleted meanwhile is not replayed
    // (it would bring the row back), its delete is.
    const replayed = await admin<Operation>('POST', '/v1/dead-letters/replay', {
      table: qualified,
      reason: rowLetter.reasonClass,
      by: 'e2e',
      note: 'stray index removed from the alias',
    });
    expect(replayed.body).toMatchObject({ action: 'replayed', remaining: 0 });
    expect(replayed.body.done.map((d) => d.id).sort()).toEqual(
      [goneDelete.id, newRow?.id ?? ''].sort(),
    );
    expect(replayed.body.skipped).toEqual(
      expect.arrayContaining([
        { id: goneInsert.id, why: expect.stringMatching(/no longer in PostgreSQL/) },
      ]),
    );
    expect((await documentOf(table, '3')).status).toBe(404);

    // Resolved ones are not acted on twice.
    const twice = await admin<Operation>('POST', '/v1/dead-letters/replay', {
      ids: [rowLetter.id],
    });
    expect(twice.body.done).toEqual([]);
    expect(twice.body.skipped).toEqual([
      { id: rowLetter.id, why: expect.stringMatching(/already replayed/) },
    ]);

    // Discard what is left: what could not be replayed.
    const discarded = await admin<Operation>('POST', '/v1/dead-letters/discard', {
      table: qualified,
      by: 'e2e',
    });
    expect(discarded.body.done.map((d) => d.id).sort()).toEqual(
      [goneInsert.id, garbageLetter.id, payloadGone.id, truncate.id].sort(),
    );

    expect((await listOf(`table=${qualified}`)).body).toMatchObject({ total: 0, items: [] });
    const history = await listOf(`table=${qualified}&status=all`);
    expect(Object.fromEntries(history.body.items.map((l) => [l.id, l.status]))).toEqual({
      [rowLetter.id]: 'replayed',
      [newRow?.id ?? '']: 'replayed',
      [payloadless.id]: 'replayed',
      [goneDelete.id]: 'replayed',
      [goneInsert.id]: 'discarded',
      [garbageLetter.id]: 'discarded',
      [payloadGone.id]: 'discarded',
      [truncate.id]: 'discarded',
    });
    expect(history.body.items.find((l) => l.id === goneDelete.id)?.resolution).toMatchObject({
      by: 'e2e',
      note: 'stray index removed from the alias',
    });

    const healed = await eventually(
      pipeline,
      (r) => r.body.tables?.find((t) => t.table === qualified)?.deadLetters === 0,
      { what: 'no unresolved dead letters for the table', timeoutMs: 30_000 },
    );
    expect(healed.body.reasons.join('\n')).not.toContain(qualified);
    // Other suites on the shared stack may leave dead letters of their own; without them the
    // pipeline is back to ok as far as dead letters go.
    if (healed.body.deadLetters === 0) {
      expect(healed.body.reasons.join('\n')).not.toMatch(/dead letter/);
    }
  });

  it('keeps dead letters forever: the admin sets retention.ms=-1 on the dead-letter topic', async () => {
    const kafkaAdmin = kafka.admin();
    await kafkaAdmin.connect();
    try {
      const described = await kafkaAdmin.describeConfigs({
        resources: [{ type: ConfigResourceTypes.TOPIC, name: deadLetterTopic }],
        includeSynonyms: false,
      });
      const retention = described.resources[0].configEntries.find(
        (e) => e.configName === 'retention.ms',
      );
      expect(retention?.configValue).toBe('-1');
    } finally {
      await kafkaAdmin.disconnect();
    }
  });

  it('refuses selections and parameters it cannot act on', async () => {
    const none = await admin('POST', '/v1/dead-letters/replay', {});
    expect(none.status).toBe(400);
    expect(none.body).toMatchObject({ statusCode: 400, message: expect.stringMatching(/ids/) });
    expect((await admin('POST', '/v1/dead-letters/discard', { reason: 'nonsense' })).status).toBe(
      400,
    );
    expect((await admin('POST', '/v1/dead-letters/discard', { ids: ['seven'] })).status).toBe(400);
    expect((await listOf('limit=0')).status).toBe(400);
    expect((await listOf('status=forgotten')).status).toBe(400);
    expect((await admin('GET', '/v1/dead-letters/not-an-id')).status).toBe(400);
    const missing = await admin('GET', '/v1/dead-letters/999:999999999');
    expect(missing.status).toBe(404);
    const unknown = await admin<Operation>('POST', '/v1/dead-letters/discard', {
      ids: ['999:999999999'],
    });
    expect(unknown.body).toMatchObject({
      done: [],
      skipped: [{ id: '999:999999999', why: 'no such dead letter' }],
    });
  });

  it('reports "indexer not consuming" within 10 s of the indexer going away', async () => {
    try {
      await holdPart('indexer');
      const down = await eventually(
        pipeline,
        (r) => r.body.reasons?.some((reason) => reason.startsWith('indexer not consuming')),
        { what: '"indexer not consuming" in the pipeline reasons', timeoutMs: 10_000 },
      );
      expect(down.body.status).toBe('failing');
      expect(down.body.indexer).toMatchObject({ reachable: false });
    } finally {
      await ensureRunning('indexer');
    }
    const back = await eventually(
      pipeline,
      (r) => !r.body.reasons?.some((reason) => reason.startsWith('indexer not consuming')),
      { what: 'the reason gone once the indexer runs again', timeoutMs: 60_000 },
    );
    expect(back.body.indexer.reachable).toBe(true);
  });
});
