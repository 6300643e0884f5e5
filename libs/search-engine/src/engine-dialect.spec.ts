import {
  elasticsearchDialect,
  hasVectorField,
  openSearchDialect,
  sourceWithoutInternalFields,
  tableIndexMappings,
  TIEBREAK_FIELD,
  TIEBREAK_MAPPING,
  translateMapping,
  VIEW_REFS_FIELD,
  withoutInternalFields,
} from './engine-dialect';
import { VECTOR_FIELD_PREFIX, vectorFieldOf } from './vector-fields';

const VECTOR_COPIES = `${VECTOR_FIELD_PREFIX}*`;
const STORED_ONLY = { type: 'object', enabled: false };

describe('TIEBREAK_FIELD', () => {
  it('cannot be a PostgreSQL column: longer than 63 bytes, no dot, no leading underscore', () => {
    expect(Buffer.byteLength(TIEBREAK_FIELD, 'utf8')).toBeGreaterThan(63);
    expect(TIEBREAK_FIELD).not.toMatch(/^_|\./);
  });
});

describe('translateMapping', () => {
  const ours = {
    attrs: { type: 'flat_object' },
    embedding: {
      type: 'knn_vector',
      dimension: 4,
      method: { name: 'hnsw', space_type: 'innerproduct' },
    },
    address: {
      type: 'object',
      properties: { geo: { type: 'dense_vector', dims: 2, similarity: 'cosine' } },
    },
    name: { type: 'text', fields: { keyword: { type: 'keyword' } } },
  };

  it('keeps OpenSearch types, forcing the lucene engine on every vector field', () => {
    expect(translateMapping(openSearchDialect(), ours)).toEqual({
      attrs: { type: 'flat_object' },
      embedding: STORED_ONLY,
      [vectorFieldOf('embedding')]: {
        type: 'knn_vector',
        dimension: 4,
        method: { name: 'hnsw', space_type: 'innerproduct', engine: 'lucene' },
      },
      address: {
        type: 'object',
        properties: {
          geo: {
            type: 'knn_vector',
            dimension: 2,
            method: { name: 'hnsw', space_type: 'cosinesimil', engine: 'lucene' },
          },
        },
      },
      name: ours.name,
    });
    // A faiss field asked for explicitly still becomes lucene: no native code on our nodes.
    expect(
      translateMapping(openSearchDialect(), {
        v: { type: 'knn_vector', dimension: 2, method: { name: 'hnsw', engine: 'faiss' } },
      }),
    ).toEqual({
      v: STORED_ONLY,
      [vectorFieldOf('v')]: {
        type: 'knn_vector',
        dimension: 2,
        method: { name: 'hnsw', space_type: 'l2', engine: 'lucene' },
      },
    });
  });

  it('maps a vector column as stored only, its copy as the vector; a copy stays a vector', () => {
    const once = translateMapping(openSearchDialect(), { v: { type: 'knn_vector', dimension: 3 } });
    // The live mapping read back and translated again (a truncate's new generation) is unchanged.
    expect(translateMapping(openSearchDialect(), once)).toEqual(once);
    expect(Object.keys(once)).toEqual(['v', vectorFieldOf('v')]);
  });

  it('names Elasticsearch types', () => {
    expect(translateMapping(elasticsearchDialect(), ours)).toEqual({
      attrs: { type: 'flattened' },
      embedding: STORED_ONLY,
      [vectorFieldOf('embedding')]: {
        type: 'dense_vector',
        dims: 4,
        index: true,
        similarity: 'max_inner_product',
        index_options: { type: 'hnsw' },
      },
      address: {
        type: 'object',
        properties: {
          geo: {
            type: 'dense_vector',
            dims: 2,
            similarity: 'cosine',
            index: true,
            index_options: { type: 'hnsw' },
          },
        },
      },
      name: ours.name,
    });
  });

  it('finds vector fields at any depth', () => {
    expect(hasVectorField(ours)).toBe(true);
    expect(
      hasVectorField({ a: { type: 'long' }, o: { properties: { b: { type: 'text' } } } }),
    ).toBe(false);
  });
});

describe('dialects', () => {
  it('differ as data', () => {
    expect(openSearchDialect({ knn: true }).indexSettings).toEqual({ 'index.knn': true });
    expect(openSearchDialect().indexSettings).toEqual({});
    expect(elasticsearchDialect({ version: '9.5.3' }).indexSettings).toEqual({
      'index.mapping.exclude_source_vectors': false,
    });
    // 8.x and 9.0/9.1 keep vectors in _source and do not know the setting.
    expect(elasticsearchDialect({ version: '8.19.21' }).indexSettings).toEqual({});
    expect(elasticsearchDialect({ version: '9.1.4' }).indexSettings).toEqual({});
    expect(elasticsearchDialect().headers.ndjson['content-type']).toBe('application/x-ndjson');
    expect(openSearchDialect().headers).toEqual({ json: {}, ndjson: {} });
  });
});

describe('table index mappings', () => {
  it('add the tie-break field, excluded from _source', () => {
    expect(
      tableIndexMappings(elasticsearchDialect(), { a: { type: 'flat_object' } }, { x: 1 }),
    ).toEqual({
      dynamic: false,
      _source: { excludes: [TIEBREAK_FIELD, VECTOR_COPIES] },
      properties: { a: { type: 'flattened' }, [TIEBREAK_FIELD]: TIEBREAK_MAPPING },
      _meta: { x: 1 },
    });
  });

  it('keep the live _source settings of a copied index', () => {
    expect(sourceWithoutInternalFields({ excludes: ['big'], includes: ['*'] })).toEqual({
      excludes: ['big', TIEBREAK_FIELD, VECTOR_COPIES],
      includes: ['*'],
    });
    expect(sourceWithoutInternalFields({ excludes: [TIEBREAK_FIELD] })).toEqual({
      excludes: [TIEBREAK_FIELD, VECTOR_COPIES],
    });
    expect(sourceWithoutInternalFields(undefined)).toEqual({
      excludes: [TIEBREAK_FIELD, VECTOR_COPIES],
    });
  });

  it('strip the field from a stored source of an older index', () => {
    const source = { a: 1, [TIEBREAK_FIELD]: '1', [vectorFieldOf('a')]: [1] };
    expect(withoutInternalFields(source)).toEqual({ a: 1 });
    expect(source).toEqual({ a: 1, [TIEBREAK_FIELD]: '1', [vectorFieldOf('a')]: [1] });
    // A view document's refs stay in _source (verify compares them) but never reach a caller.
    expect(withoutInternalFields({ a: 1, [VIEW_REFS_FIELD]: ['public.t:1'] })).toEqual({ a: 1 });
    const clean = { a: 1 };
    expect(withoutInternalFields(clean)).toBe(clean);
    expect(withoutInternalFields(undefined)).toBeUndefined();
  });
});

describe('date formats per engine', () => {
  const FORMAT = 'strict_date_optional_time_nanos||strict_date_optional_time||epoch_millis';
  const mapping = {
    ts: {
      type: 'date',
      format: FORMAT,
      ignore_malformed: true,
      fields: { exact: { type: 'keyword' } },
    },
  };

  it('gives Elasticsearch a pattern for years beyond 4 digits, before epoch_millis, once', () => {
    const es = elasticsearchDialect({ version: '9.5.3' });
    const ts = translateMapping(es, mapping).ts as { format: string };
    expect(ts.format).toBe(
      "strict_date_optional_time_nanos||strict_date_optional_time||uuuu-MM-dd['T'HH:mm:ss[.SSSSSS][.SSS]][XXX]||epoch_millis",
    );
    expect(translateMapping(es, { ts }).ts).toEqual(ts);
  });

  it('leaves OpenSearch formats as they are (its ISO formats read 10-digit years)', () => {
    expect(translateMapping(openSearchDialect(), mapping)).toEqual(mapping);
  });
});
