import { parse } from 'lossless-json';
import type { ChangeEvent, TableRef } from './change-event';
import { ChangeEventDecodeError, TableWithoutKeyError } from './change-event.errors';
import type { ConnectMessage, ConnectSchema } from './connect-schema';
import { documentId } from './document-id';
import { convertStruct, type DocumentValue } from './value-converter';

/** Parsed schemas by their JSON text: every record of a table carries the same one. */
const schemaCache = new Map<string, ConnectSchema | null>();
const SCHEMA_CACHE_LIMIT = 512;
const SCHEMA_PREFIX = '{"schema":';
const PAYLOAD_SEPARATOR = ',"payload":';

/**
 * Connect's JsonConverter writes `{"schema":…,"payload":…}`, the schema being most of the bytes.
 * The schema is parsed once per distinct text (natively: it holds no numbers that matter); only
 * the payload goes through the lossless parser. Inside JSON strings quotes are escaped, so the
 * first `,"payload":` is the envelope's own.
 */
function parseCompactEnvelope(text: string): ConnectMessage | null {
  if (!text.startsWith(SCHEMA_PREFIX) || !text.endsWith('}')) return null;
  const split = text.indexOf(PAYLOAD_SEPARATOR);
  if (split < 0) return null;
  const schemaText = text.slice(SCHEMA_PREFIX.length, split);
  let schema = schemaCache.get(schemaText);
  if (schema === undefined) {
    schema = JSON.parse(schemaText) as ConnectSchema | null;
    if (schemaCache.size >= SCHEMA_CACHE_LIMIT) schemaCache.clear();
    schemaCache.set(schemaText, schema);
  }
  return { schema, payload: parse(text.slice(split + PAYLOAD_SEPARATOR.length, -1)) };
}

function parseMessage(buffer: Buffer, what: string): ConnectMessage {
  const text = buffer.toString('utf8');
  let parsed: unknown;
  try {
    parsed = parseCompactEnvelope(text) ?? parse(text);
  } catch {
    try {
      parsed = parse(text);
    } catch (error) {
      throw new ChangeEventDecodeError(`${what} is not JSON: ${(error as Error).message}`);
    }
  }
  if (typeof parsed !== 'object' || parsed === null || !('payload' in parsed)) {
    throw new ChangeEventDecodeError(
      `${what} has no "schema"/"payload" envelope: set the converter's schemas.enable=true`,
    );
  }
  return parsed as ConnectMessage;
}

function fieldSchema(schema: ConnectSchema | null, name: string): ConnectSchema | undefined {
  return schema?.fields?.find((f) => f.field === name);
}

function numberish(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'object' && 'value' in value) return String(value.value);
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}

/**
 * The event's position in the WAL. Incremental-snapshot reads (resync) carry no `lsn`; their
 * `sequence` ends with the stream position at which they were read, which is at or after every
 * earlier change of the row — so they may repair a document.
 */
function sourcePosition(source: Record<string, unknown>): string | undefined {
  const lsn = numberish(source.lsn);
  if (lsn !== undefined) return lsn;
  if (typeof source.sequence !== 'string') return undefined;
  try {
    const sequence = JSON.parse(source.sequence) as unknown[];
    return numberish(sequence[sequence.length - 1]);
  } catch {
    return undefined;
  }
}

function sourceOf(payload: Record<string, unknown>): {
  table: TableRef;
  version: bigint;
  sourceTsMs: number;
} {
  const source = payload.source as Record<string, unknown> | undefined;
  if (!source) throw new ChangeEventDecodeError('change event has no "source" block');
  const lsnText = sourcePosition(source);
  if (lsnText === undefined) {
    throw new ChangeEventDecodeError(
      'change event has no source.lsn or source.sequence to version it by',
    );
  }
  const ts = source.ts_ms as { value?: string } | number | undefined;
  return {
    table: { schema: String(source.schema), table: String(source.table) },
    version: BigInt(String(lsnText)),
    sourceTsMs: Number(typeof ts === 'object' && ts !== null ? ts.value : (ts ?? 0)),
  };
}

function idFromKey(key: Buffer | null, table: TableRef): string {
  if (!key) {
    throw new TableWithoutKeyError(`${table.schema}.${table.table}`);
  }
  const message = parseMessage(key, 'record key');
  if (!message.schema?.fields) {
    throw new ChangeEventDecodeError('record key has no struct schema');
  }
  const row = convertStruct(message.schema, message.payload, '');
  const values: DocumentValue[] = message.schema.fields.map((f) => row[f.field ?? '']);
  return documentId(values);
}

/** Decodes one Debezium record (Connect JSON with schemas) into a change event. */
export function decodeChangeEvent(key: Buffer | null, value: Buffer | null): ChangeEvent {
  if (value === null || value.length === 0) return { kind: 'skip', reason: 'tombstone' };
  const message = parseMessage(value, 'record value');
  const payload = message.payload as Record<string, unknown> | null;
  if (payload === null) return { kind: 'skip', reason: 'tombstone' };
  const op = payload.op;
  const position = sourceOf(payload);
  switch (op) {
    case 'r':
    case 'c':
    case 'u': {
      const afterSchema = fieldSchema(message.schema, 'after');
      if (!afterSchema?.fields) {
        throw new ChangeEventDecodeError('change event has no schema for "after"');
      }
      return {
        kind: 'upsert',
        op: op === 'r' ? 'read' : op === 'c' ? 'create' : 'update',
        ...position,
        id: idFromKey(key, position.table),
        document: convertStruct(afterSchema, payload.after, ''),
        columns: afterSchema.fields,
      };
    }
    case 'd':
      return { kind: 'delete', ...position, id: idFromKey(key, position.table) };
    case 't':
      return { kind: 'truncate', ...position };
    default:
      throw new ChangeEventDecodeError(`unknown operation ${JSON.stringify(op)}`);
  }
}
