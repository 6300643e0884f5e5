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

/** `source.sequence`: `[lastCommitLsn, lsn]` as JSON text, either element possibly null. */
function sequenceOf(source: Record<string, unknown>): unknown[] {
  if (typeof source.sequence !== 'string') return [];
  try {
    const sequence = JSON.parse(source.sequence) as unknown;
    return Array.isArray(sequence) ? sequence : [];
  } catch {
    return [];
  }
}

const digits = (value: unknown): bigint | undefined => {
  const text = numberish(value);
  return text !== undefined && /^\d+$/.test(text) ? BigInt(text) : undefined;
};

/**
 * The event's document version: the greater of its own position (the change's LSN; for an
 * incremental-snapshot read, which carries none, the stream position in `source.sequence`'s
 * last element) and the end LSN of the last transaction committed before its own, which
 * Debezium puts in `source.sequence[0]`. A transaction T ends after each of its changes, and
 * every transaction committed after it carries at least T's end: along one row (row locks
 * serialise writers, the stream is in commit order) a later transaction always has a greater
 * version, and within a transaction the later change has the greater LSN unless both were
 * written before the previous commit (then they tie, and `external_gte` lets the later in the
 * topic win). The change's LSN alone would not do: a transaction that changed a row before an
 * incremental snapshot's chunk was read and committed after its window closed has a change LSN
 * below the position the read is emitted at, and was refused as stale behind the read's older
 * value; its commit came after the window's, so it now carries more. Before Debezium knows any
 * commit (a new slot's initial snapshot and the first transaction after it) the element is null.
 */
function sourceVersion(source: Record<string, unknown>): bigint | undefined {
  const sequence = sequenceOf(source);
  const afterCommit = digits(sequence[0]);
  const position = digits(source.lsn) ?? digits(sequence[sequence.length - 1]);
  if (afterCommit === undefined || position === undefined) return position ?? afterCommit;
  return afterCommit > position ? afterCommit : position;
}

function sourceOf(payload: Record<string, unknown>): {
  table: TableRef;
  version: bigint;
  sourceTsMs: number;
} {
  const source = payload.source as Record<string, unknown> | undefined;
  if (!source) throw new ChangeEventDecodeError('change event has no "source" block');
  const version = sourceVersion(source);
  if (version === undefined) {
    throw new ChangeEventDecodeError(
      'change event has no source.lsn or source.sequence to version it by',
    );
  }
  const ts = source.ts_ms as { value?: string } | number | undefined;
  return {
    table: { schema: String(source.schema), table: String(source.table) },
    version,
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
