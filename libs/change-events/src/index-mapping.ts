import type { ConnectSchema } from './connect-schema';

export type FieldMapping = { [key: string]: unknown };

const TEXT: FieldMapping = {
  type: 'text',
  fields: { keyword: { type: 'keyword', ignore_above: 256 } },
};

const DATE_FORMAT = 'strict_date_optional_time_nanos||strict_date_optional_time||epoch_millis';

/** The PostgreSQL type Debezium propagates with `column.propagate.source.type`. */
function sourceType(schema: ConnectSchema): string | undefined {
  return schema.parameters?.['__debezium.source.column.type']?.toLowerCase();
}

/**
 * The index mapping of one column, derived from its Debezium schema. `_source` keeps exact
 * values; the mapping only decides how they are searched, filtered and sorted.
 */
export function fieldMapping(schema: ConnectSchema): FieldMapping {
  switch (schema.name) {
    case 'io.debezium.time.Date':
    case 'org.apache.kafka.connect.data.Date':
    case 'io.debezium.time.MicroTimestamp':
    case 'io.debezium.time.Timestamp':
    case 'io.debezium.time.NanoTimestamp':
    case 'org.apache.kafka.connect.data.Timestamp':
    case 'io.debezium.time.ZonedTimestamp':
      // `infinity` timestamps must not reject the whole row.
      return { type: 'date', format: DATE_FORMAT, ignore_malformed: true };
    case 'io.debezium.time.MicroTime':
    case 'io.debezium.time.Time':
    case 'io.debezium.time.NanoTime':
    case 'io.debezium.time.ZonedTime':
    case 'io.debezium.time.Interval':
    case 'io.debezium.data.Uuid':
    case 'io.debezium.data.Enum':
    case 'io.debezium.data.Bits':
      return { type: 'keyword' };
    case 'io.debezium.data.Json':
      return { type: 'flat_object' };
    case 'io.debezium.data.geometry.Point':
      return { type: 'keyword' };
    case undefined:
    default:
      break;
  }
  const pgType = sourceType(schema)?.replace(/^_/, '');
  switch (pgType) {
    case 'numeric':
    case 'decimal':
    case 'money':
      // Exact digits stay in `_source`; the indexed double makes ranges and sorting work.
      return { type: 'double', ignore_malformed: true, fields: { exact: { type: 'keyword' } } };
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
      return { type: 'keyword' };
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
      return schema.items ? fieldMapping(schema.items) : { type: 'keyword' };
    case 'struct':
      return { type: 'object', properties: propertiesFor(schema.fields ?? []) };
    case 'map':
      return { type: 'flat_object' };
    default:
      return { type: 'keyword' };
  }
}

/** Mapping properties for a row's columns. */
export function propertiesFor(columns: ConnectSchema[]): { [column: string]: FieldMapping } {
  return Object.fromEntries(columns.map((column) => [column.field ?? '', fieldMapping(column)]));
}
