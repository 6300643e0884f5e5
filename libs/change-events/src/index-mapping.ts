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
  type?: 'text' | 'keyword';
  analyzer?: string;
  searchAnalyzer?: string;
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
  if (
    settings.type &&
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
  return Object.fromEntries(
    columns.map((column) => {
      const name = column.field ?? '';
      const configured = Object.hasOwn(fields, name) ? fields[name] : undefined;
      return [name, configuredFieldMapping(fieldMapping(column), configured)];
    }),
  );
}
