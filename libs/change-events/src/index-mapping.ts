import type { ConnectSchema } from './connect-schema';
import { sourceColumnType } from './value-converter';

export type FieldMapping = { [key: string]: unknown };

/**
 * The normalizer uuid fields use, defined by the search-engine adapters in every index they
 * create (`LOWERCASE_NORMALIZER` there): a filter in any case finds the lower-case value.
 */
export const LOWERCASE_NORMALIZER = 'searchsync_lowercase';

/**
 * Longest keyword indexed, in characters: Lucene refuses terms over 32766 bytes (the whole
 * document with them), and a character takes up to 4 bytes. Longer values stay in `_source`.
 */
export const KEYWORD_IGNORE_ABOVE = 8191;
const KEYWORD: FieldMapping = { type: 'keyword', ignore_above: KEYWORD_IGNORE_ABOVE };

const TEXT: FieldMapping = {
  type: 'text',
  fields: { keyword: { type: 'keyword', ignore_above: 256 } },
};

const DATE_FORMAT = 'strict_date_optional_time_nanos||strict_date_optional_time||epoch_millis';

/**
 * Timestamps: `date` covers every year PostgreSQL has (BC, 5-digit years) but keeps
 * milliseconds; `date_nanos` keeps microseconds but only for 1970–2262. So the main field is a
 * `date` (range filters and sorts to the millisecond, for all years) and `exact` holds the
 * canonical string, whose order within one millisecond is time order (six fractional digits
 * always): the API breaks millisecond ties with it to be exact to the microsecond. `infinity`
 * and out-of-range values are malformed for the date (kept in `_source`, the row indexed).
 */
const TIMESTAMP: FieldMapping = {
  type: 'date',
  format: DATE_FORMAT,
  ignore_malformed: true,
  fields: { exact: { type: 'keyword', ignore_above: 64 } },
};

/**
 * json/jsonb: any shape (object, array, scalar, null) and any size must index. `flat_object`
 * refuses scalars and arrays of scalars, and any string over 32 kB (an "immense term"), so the
 * value is kept in `_source` only: returned exactly, not searchable by content.
 */
const JSON_VALUE: FieldMapping = { type: 'object', enabled: false };

/**
 * The index mapping of one column, derived from its Debezium schema. `_source` keeps exact
 * values; the mapping only decides how they are searched, filtered and sorted.
 */
export function fieldMapping(schema: ConnectSchema): FieldMapping {
  switch (schema.name) {
    case 'io.debezium.time.Date':
    case 'org.apache.kafka.connect.data.Date':
      // Day precision is exact in a `date`; `infinity` must not reject the whole row.
      return { type: 'date', format: DATE_FORMAT, ignore_malformed: true };
    case 'io.debezium.time.MicroTimestamp':
    case 'io.debezium.time.Timestamp':
    case 'io.debezium.time.NanoTimestamp':
    case 'org.apache.kafka.connect.data.Timestamp':
    case 'io.debezium.time.ZonedTimestamp':
      return TIMESTAMP;
    case 'io.debezium.data.Uuid':
      return { ...KEYWORD, normalizer: LOWERCASE_NORMALIZER };
    case 'io.debezium.time.MicroTime':
    case 'io.debezium.time.Time':
    case 'io.debezium.time.NanoTime':
    case 'io.debezium.time.ZonedTime':
    case 'io.debezium.time.Interval':
    case 'io.debezium.data.Enum':
    case 'io.debezium.data.Bits':
    case 'io.debezium.data.geometry.Point':
      return KEYWORD;
    case 'io.debezium.data.SparseDoubleVector':
    case 'io.debezium.data.SparseVector':
      // Its text form: a keyword would refuse long ones, and nothing filters on it.
      return JSON_VALUE;
    case 'io.debezium.data.Json':
      // hstore arrives as JSON but is converted to its text form.
      return sourceColumnType(schema)?.replace(/^_/, '') === 'hstore' ? TEXT : JSON_VALUE;
    case undefined:
    default:
      break;
  }
  const pgType = sourceColumnType(schema)?.replace(/^_/, '');
  switch (pgType) {
    case 'numeric':
    case 'decimal':
    case 'money':
      // Exact digits stay in `_source`; the indexed double makes ranges and sorting work.
      return {
        type: 'double',
        ignore_malformed: true,
        fields: { exact: { type: 'keyword', ignore_above: KEYWORD_IGNORE_ABOVE } },
      };
    case 'bytea':
      return { type: 'binary' };
    case 'inet':
    case 'cidr':
    case 'macaddr':
    case 'macaddr8':
    case 'int4range':
    case 'int8range':
    case 'numrange':
    case 'daterange':
    case 'tsrange':
    case 'tstzrange':
      return KEYWORD;
    case undefined:
    default:
      break;
  }
  switch (schema.type) {
    case 'int8':
    case 'int16':
      return { type: 'short' };
    case 'int32':
      return { type: 'integer' };
    case 'int64':
      return { type: 'long' };
    case 'float':
      return { type: 'float', ignore_malformed: true };
    case 'double':
      return { type: 'double', ignore_malformed: true };
    case 'boolean':
      return { type: 'boolean' };
    case 'bytes':
      return { type: 'binary' };
    case 'string':
      return TEXT;
    case 'array':
      // Element schemas carry no source type; the array's (`_numeric`) stands for them.
      return schema.items
        ? fieldMapping({
            ...schema.items,
            parameters: { ...schema.parameters, ...schema.items.parameters },
          })
        : KEYWORD;
    case 'struct':
      return { type: 'object', properties: propertiesFor(schema.fields ?? []) };
    case 'map':
      return JSON_VALUE;
    default:
      return KEYWORD;
  }
}

/**
 * How a table's configuration asks a column to be searched (searchsync.yaml `fields`); the same
 * shape as the config library's FieldSettings, declared here so that this library stands alone.
 */
export interface ColumnSearchSettings {
  type?: 'text' | 'keyword' | 'vector';
  analyzer?: string;
  searchAnalyzer?: string;
  /** `type: vector` */
  dims?: number;
  similarity?: 'l2' | 'cosine' | 'dot_product';
}

/** A column whose values are indexed as k-NN vectors (as the search engine library reads it). */
export interface VectorColumnSettings {
  column: string;
  dims: number;
  similarity: 'l2' | 'cosine' | 'dot_product';
}

const NUMERIC_ELEMENT_TYPES = new Set(['int8', 'int16', 'int32', 'int64', 'float', 'double']);

/**
 * Whether a column's values can be vectors: a one-dimensional array of numbers (real[],
 * double precision[], integer arrays, numeric[] as exact strings). Multi-dimensional arrays
 * share the schema; their values are refused one by one, never the row.
 */
export function canHoldVectors(schema: ConnectSchema): boolean {
  // pgvector's vector and halfvec (Debezium 3.0+): arrays of double / float, without dimensions.
  if (schema.name === 'io.debezium.data.DoubleVector') return true;
  if (schema.name === 'io.debezium.data.FloatVector') return true;
  if (schema.type !== 'array' || !schema.items) return false;
  // date[], timestamp[], time[] are numbers on the wire (io.debezium.time.*), not vectors.
  if (schema.items.name !== undefined) return false;
  if (NUMERIC_ELEMENT_TYPES.has(schema.items.type)) return true;
  const pgType = sourceColumnType(schema)?.replace(/^_/, '');
  return pgType === 'numeric' || pgType === 'decimal';
}

/** The table's columns configured as vectors that can hold them, in column order. */
export function vectorColumnsOf(
  columns: ConnectSchema[],
  fields: Record<string, ColumnSearchSettings> = {},
): VectorColumnSettings[] {
  const out: VectorColumnSettings[] = [];
  for (const column of columns) {
    const name = column.field ?? '';
    const settings = Object.hasOwn(fields, name) ? fields[name] : undefined;
    if (settings?.type !== 'vector' || settings.dims === undefined) continue;
    if (!canHoldVectors(column)) continue;
    out.push({ column: name, dims: settings.dims, similarity: settings.similarity ?? 'l2' });
  }
  return out;
}

/** OpenSearch's names for the similarities (our mappings are written in its terms). */
const SPACE_TYPE: Record<VectorColumnSettings['similarity'], string> = {
  l2: 'l2',
  cosine: 'cosinesimil',
  dot_product: 'innerproduct',
};

/**
 * A vector column's mapping: a k-NN vector. The search engine library keeps the column's value
 * in `_source` as it is and indexes the vector in a copy field (so no value refuses the row).
 */
export function vectorFieldMapping(vector: VectorColumnSettings): FieldMapping {
  return {
    type: 'knn_vector',
    dimension: vector.dims,
    method: { name: 'hnsw', space_type: SPACE_TYPE[vector.similarity] },
  };
}

/** Natural mappings a configured type may replace: scalar leaves, never objects or binaries. */
const OVERRIDABLE_TYPES = new Set([
  'text',
  'keyword',
  'short',
  'integer',
  'long',
  'float',
  'double',
  'boolean',
  'date',
]);

/**
 * A column's mapping with its configured search settings applied. A type is only replaced on a
 * scalar field (a json or bytea column keeps its mapping: any value it holds would be refused
 * as text); an analyzer applies to text fields. The `.keyword` sub-field of text stays, so
 * exact filters and sorts keep working whatever the analyzer.
 */
export function configuredFieldMapping(
  natural: FieldMapping,
  settings: ColumnSearchSettings | undefined,
): FieldMapping {
  if (!settings) return natural;
  let mapping = natural;
  // A vector on a column that cannot hold vectors keeps its natural mapping (the indexer says so).
  if (
    (settings.type === 'text' || settings.type === 'keyword') &&
    settings.type !== natural.type &&
    OVERRIDABLE_TYPES.has(String(natural.type))
  )
    mapping = settings.type === 'text' ? TEXT : KEYWORD;
  if (mapping.type !== 'text' || (!settings.analyzer && !settings.searchAnalyzer)) return mapping;
  return {
    ...mapping,
    ...(settings.analyzer ? { analyzer: settings.analyzer } : {}),
    ...(settings.searchAnalyzer ? { search_analyzer: settings.searchAnalyzer } : {}),
  };
}

/** Mapping properties for a row's columns, with the table's configured field settings. */
export function propertiesFor(
  columns: ConnectSchema[],
  fields: Record<string, ColumnSearchSettings> = {},
): { [column: string]: FieldMapping } {
  const vectors = new Map(vectorColumnsOf(columns, fields).map((v) => [v.column, v]));
  return Object.fromEntries(
    columns.map((column) => {
      const name = column.field ?? '';
      const vector = vectors.get(name);
      if (vector) return [name, vectorFieldMapping(vector)];
      const configured = Object.hasOwn(fields, name) ? fields[name] : undefined;
      return [name, configuredFieldMapping(fieldMapping(column), configured)];
    }),
  );
}
