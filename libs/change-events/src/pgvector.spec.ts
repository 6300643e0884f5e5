import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { UpsertEvent } from './change-event';
import { decodeChangeEvent } from './debezium-envelope';
import { canHoldVectors, fieldMapping, propertiesFor, vectorColumnsOf } from './index-mapping';
import { rowColumnPlan, rowDocumentValue } from './row-values';

/**
 * pgvector columns as Debezium 3.6 sends them (events produced with Debezium 3.6.3's
 * PostgresValueConverter and Kafka's JsonConverter for `vector(3)`, `halfvec(3)` and
 * `sparsevec(30522)`: pgvector is not packaged for the PostgreSQL of our test stack).
 */
function events(): Map<string, UpsertEvent> {
  const records = JSON.parse(
    readFileSync(join(__dirname, 'fixtures', 'pgvector.records.json'), 'utf8'),
  ) as { topic: string; key: string; value: string }[];
  return new Map(
    records.map((record) => {
      const event = decodeChangeEvent(Buffer.from(record.key), Buffer.from(record.value));
      if (event.kind !== 'upsert') throw new Error(`unexpected ${event.kind}`);
      return [record.topic.split('.').pop() ?? '', event];
    }),
  );
}

const recorded = events();
const column = (table: string) => {
  const event = recorded.get(table);
  const schema = event?.columns.find((c) => c.field === 'embedding');
  if (!event || !schema) throw new Error(`${table} not recorded`);
  return { event, schema };
};

describe('pgvector columns', () => {
  it('vector(n): a JSON array of numbers, indexed as a vector when configured with dims', () => {
    const { event, schema } = column('emb_vector');
    expect(event.document.embedding).toEqual([0.1, -0.25, 3]);
    expect(canHoldVectors(schema)).toBe(true);
    expect(vectorColumnsOf(event.columns, { embedding: { type: 'vector', dims: 3 } })).toEqual([
      { column: 'embedding', dims: 3, similarity: 'l2' },
    ]);
    expect(
      propertiesFor(event.columns, {
        embedding: { type: 'vector', dims: 3, similarity: 'cosine' },
      }).embedding,
    ).toEqual({
      type: 'knn_vector',
      dimension: 3,
      method: { name: 'hnsw', space_type: 'cosinesimil' },
    });
  });

  it('halfvec(n): the half-precision values as sent, mapped the same way', () => {
    const { event, schema } = column('emb_halfvec');
    expect(event.document.embedding).toEqual([0.099975586, -0.25, 3]);
    expect(canHoldVectors(schema)).toBe(true);
    expect(
      propertiesFor(event.columns, { embedding: { type: 'vector', dims: 3 } }).embedding,
    ).toMatchObject({ type: 'knn_vector', dimension: 3 });
  });

  it('sparsevec(n): its PostgreSQL text form, indices ascending, stored only', () => {
    const { event, schema } = column('emb_sparsevec');
    expect(event.document.embedding).toBe('{17:0.5,2040:1.25,7592:0.75}/30522');
    expect(fieldMapping(schema)).toEqual({ type: 'object', enabled: false });
    expect(canHoldVectors(schema)).toBe(false);
  });

  it('verify reads the same values from PostgreSQL as the indexer writes', () => {
    const plan = (baseType: string) =>
      rowColumnPlan({ name: 'embedding', baseType, elementType: null, typmod: 3 });
    expect(rowDocumentValue(plan('vector'), '[0.1,-0.25,3]')).toEqual(
      column('emb_vector').event.document.embedding,
    );
    expect(rowDocumentValue(plan('halfvec'), '[0.099975586,-0.25,3]')).toEqual(
      column('emb_halfvec').event.document.embedding,
    );
    expect(rowDocumentValue(plan('sparsevec'), '{17:0.5,2040:1.25,7592:0.75}/30522')).toBe(
      column('emb_sparsevec').event.document.embedding,
    );
  });
});
