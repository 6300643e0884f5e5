import type { ConnectSchema } from './connect-schema';
import { canHoldVectors, propertiesFor, vectorColumnsOf } from './index-mapping';

const arrayOf = (field: string, items: ConnectSchema['type'], pgType: string): ConnectSchema => ({
  type: 'array',
  field,
  optional: true,
  items: { type: items, optional: true },
  parameters: { '__debezium.source.column.type': pgType },
});

const embedding = arrayOf('embedding', 'float', '_FLOAT4');
const scores = arrayOf('scores', 'string', '_NUMERIC');
const tags = arrayOf('tags', 'string', '_TEXT');
const title: ConnectSchema = { type: 'string', field: 'title', optional: true };

describe('vector columns', () => {
  it('are arrays of numbers', () => {
    expect(canHoldVectors(embedding)).toBe(true);
    expect(canHoldVectors(arrayOf('d', 'double', '_FLOAT8'))).toBe(true);
    expect(canHoldVectors(arrayOf('i', 'int32', '_INT4'))).toBe(true);
    expect(canHoldVectors(scores)).toBe(true);
    expect(canHoldVectors(tags)).toBe(false);
    const dates: ConnectSchema = {
      ...arrayOf('days', 'int32', '_DATE'),
      items: { type: 'int32', name: 'io.debezium.time.Date' },
    };
    expect(canHoldVectors(dates)).toBe(false);
    expect(canHoldVectors(title)).toBe(false);
  });

  it('are the configured ones that can hold vectors, l2 unless told', () => {
    const fields = {
      embedding: { type: 'vector' as const, dims: 3 },
      scores: { type: 'vector' as const, dims: 2, similarity: 'cosine' as const },
      tags: { type: 'vector' as const, dims: 2 },
      title: { type: 'text' as const },
    };
    expect(vectorColumnsOf([embedding, scores, tags, title], fields)).toEqual([
      { column: 'embedding', dims: 3, similarity: 'l2' },
      { column: 'scores', dims: 2, similarity: 'cosine' },
    ]);
  });

  it('are mapped as k-NN vectors; a text column asked to be one keeps its mapping', () => {
    const properties = propertiesFor([embedding, tags], {
      embedding: { type: 'vector', dims: 3, similarity: 'dot_product' },
      tags: { type: 'vector', dims: 2 },
    });
    expect(properties.embedding).toEqual({
      type: 'knn_vector',
      dimension: 3,
      method: { name: 'hnsw', space_type: 'innerproduct' },
    });
    expect(properties.tags).toEqual(propertiesFor([tags]).tags);
  });
});
