import { DEAD_LETTER_CLASSES, DEAD_LETTER_HEADERS as H } from '@searchsync/change-events';
import { REDACTED, isSecretKey, redactText } from '@searchsync/connect-client';

/**
 * The reason classes the indexer writes in `searchsync.reason.class`. Records written before the
 * indexer classified its dead letters carry no class: they are `unclassified`.
 */
export const REASON_CLASSES = [...DEAD_LETTER_CLASSES, 'unclassified'] as const;
export type ReasonClass = (typeof REASON_CLASSES)[number];

export const RESOLUTION_STATUSES = ['replayed', 'discarded'] as const;
export type ResolutionStatus = (typeof RESOLUTION_STATUSES)[number];
export type DeadLetterStatus = 'unresolved' | ResolutionStatus;

/** Where a record sits in Kafka. */
export interface RecordPosition {
  topic: string;
  partition: number;
  offset: string;
}

/** One dead letter as the admin keeps it in memory: what it is, never its whole payload. */
export interface DeadLetterEntry {
  /** `<partition>:<offset>` of the record in the dead-letter topic. */
  id: string;
  partition: number;
  offset: string;
  reasonClass: ReasonClass;
  reason: string;
  /** `schema.table`, or null when neither a header nor the source topic names one. */
  table: string | null;
  /** The record the indexer could not apply; null when the headers do not say. */
  source: RecordPosition | null;
  /** When the indexer dead-lettered it (ISO 8601). */
  time: string;
  /** Key and payload excerpts, secrets redacted. */
  key: string | null;
  excerpt: string | null;
  /** Size of key plus value in bytes. */
  bytes: number;
  /** `<partition>:<offset>` of the dead letter this record is a failed replay of, if any. */
  replayOf: string | null;
}

/** What the resolutions topic holds per dead letter (key `<partition>:<offset>`). */
export interface Resolution {
  status: ResolutionStatus;
  at: string;
  by: string;
  note?: string;
  /**
   * The dead letter's source position at resolution time: if the dead-letter topic is ever
   * recreated, a resolution of an old record with the same id is not taken for the new one.
   */
  source?: RecordPosition | null;
  /**
   * The dead letter's `time` at resolution time: tells records apart that have no source
   * position, and old records from new ones when a recreated topic reuses offsets.
   */
  time?: string;
  /** Where the replayed record was written. */
  replayedTo?: RecordPosition;
}

export interface KafkaHeaderValues {
  [key: string]: Buffer | string | (Buffer | string)[] | undefined;
}

export interface RawDeadLetter {
  partition: number;
  offset: string;
  /** Kafka record timestamp, ms since the epoch, as kafkajs gives it. */
  timestamp: string;
  headers?: KafkaHeaderValues;
  key: Buffer | null;
  value: Buffer | null;
}

export const KEY_EXCERPT_CHARS = 200;
export const PAYLOAD_EXCERPT_CHARS = 600;
const REASON_CHARS = 1000;

export const deadLetterId = (partition: number, offset: string | number) =>
  `${partition}:${String(offset)}`;

/** Parses `<partition>:<offset>`; null when it is not one. */
export function parseDeadLetterId(id: string): { partition: number; offset: string } | null {
  const match = /^(\d{1,9}):(\d{1,19})$/.exec(id.trim());
  if (!match) return null;
  return { partition: Number(match[1]), offset: String(BigInt(match[2])) };
}

function header(headers: KafkaHeaderValues | undefined, name: string): string | null {
  const value = headers?.[name];
  if (value === undefined) return null;
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? null : first.toString();
}

/** `<prefix>.<schema>.<table>` → `schema.table` (null for any other topic). */
export function tableOfTopic(topic: string, topicPrefix: string): string | null {
  if (!topic.startsWith(`${topicPrefix}.`)) return null;
  const rest = topic.slice(topicPrefix.length + 1);
  const dot = rest.indexOf('.');
  if (dot <= 0 || dot === rest.length - 1 || rest.indexOf('.', dot + 1) !== -1) return null;
  return rest;
}

/** `table` (schema public) or `schema.table`, the way every other admin call names a table. */
export function qualifiedTable(reference: string): string {
  const trimmed = reference.trim();
  return trimmed.includes('.') ? trimmed : `public.${trimmed}`;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A copy with the value of every secret-looking key (`password`, `api_key`, …) replaced. */
export function redactJson(value: Json): Json {
  if (Array.isArray(value)) return value.map(redactJson);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, isSecretKey(k) ? REDACTED : redactJson(v)]),
    );
  }
  return typeof value === 'string' ? redactText(value) : value;
}

/**
 * The part of a Debezium envelope a human needs (operation and row images), whether the
 * converter wrote schemas (`{schema, payload}`) or not; other JSON as it is.
 */
function essentials(parsed: Json): Json {
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return parsed;
  const payload = 'payload' in parsed && 'schema' in parsed ? parsed.payload : parsed;
  if (payload !== null && typeof payload === 'object' && !Array.isArray(payload)) {
    if ('op' in payload || 'after' in payload || 'before' in payload) {
      const out: Record<string, Json> = {};
      for (const field of ['op', 'before', 'after'] as const) {
        if (payload[field] !== undefined && payload[field] !== null) out[field] = payload[field];
      }
      return out;
    }
    return payload;
  }
  return payload;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A short, redacted rendering of a record's key or value: JSON with secret-looking fields
 * replaced (a Debezium envelope reduced to op/before/after), text with `password=…`-style
 * secrets replaced, anything else as a hex prefix.
 */
export function payloadExcerpt(bytes: Buffer | null, max = PAYLOAD_EXCERPT_CHARS): string | null {
  if (bytes === null) return null;
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return clip(`<${bytes.length} bytes, not UTF-8> ${bytes.subarray(0, 64).toString('hex')}`, max);
  }
  try {
    return clip(JSON.stringify(redactJson(essentials(JSON.parse(text) as Json))), max);
  } catch {
    // Not JSON: redact on the text, before clipping cuts a secret's marker off.
    // eslint-disable-next-line no-control-regex
    return clip(redactText(text).replace(/[\u0000-\u0008\u000e-\u001f]/g, '�'), max);
  }
}

function asReasonClass(value: string | null): ReasonClass {
  return value !== null && (REASON_CLASSES as readonly string[]).includes(value)
    ? (value as ReasonClass)
    : 'unclassified';
}

function isoTime(ms: string | null, fallback: string): string {
  for (const candidate of [ms, fallback]) {
    const n = Number(candidate);
    if (candidate !== null && candidate !== '' && Number.isFinite(n)) {
      const date = new Date(n);
      if (!Number.isNaN(date.getTime())) return date.toISOString();
    }
  }
  return new Date(0).toISOString();
}

/**
 * A record of the dead-letter topic as a listing entry. Tolerates records of every indexer
 * version: before `searchsync.reason.class`, `searchsync.table` and `searchsync.time` existed
 * the class is `unclassified`, the table comes from the source topic and the time from the
 * Kafka timestamp.
 */
export function parseDeadLetter(record: RawDeadLetter, topicPrefix: string): DeadLetterEntry {
  const h = record.headers;
  const topic = header(h, H.sourceTopic);
  const partition = Number(header(h, H.sourcePartition));
  const offset = header(h, H.sourceOffset);
  const source: RecordPosition | null =
    topic && Number.isInteger(partition) && partition >= 0 && offset && /^\d+$/.test(offset)
      ? { topic, partition, offset }
      : null;
  const tableHeader = header(h, H.table);
  const table =
    tableHeader && tableHeader.trim() !== ''
      ? tableHeader.trim()
      : topic
        ? tableOfTopic(topic, topicPrefix)
        : null;
  return {
    id: deadLetterId(record.partition, record.offset),
    partition: record.partition,
    offset: record.offset,
    reasonClass: asReasonClass(header(h, H.reasonClass)),
    reason: clip(redactText(header(h, H.reason) ?? 'no reason recorded'), REASON_CHARS),
    table,
    source,
    time: isoTime(header(h, H.time), record.timestamp),
    key: payloadExcerpt(record.key, KEY_EXCERPT_CHARS),
    excerpt: payloadExcerpt(record.value),
    bytes: (record.key?.length ?? 0) + (record.value?.length ?? 0),
    replayOf: header(h, H.replayOf),
  };
}

/** A record of the resolutions topic; null for a tombstone or anything unreadable. */
export function parseResolution(value: Buffer | null): Resolution | null {
  if (value === null) return null;
  try {
    const parsed = JSON.parse(value.toString('utf8')) as Partial<Resolution>;
    if (!parsed || !(RESOLUTION_STATUSES as readonly string[]).includes(String(parsed.status))) {
      return null;
    }
    return {
      status: parsed.status as ResolutionStatus,
      at: String(parsed.at ?? ''),
      by: String(parsed.by ?? ''),
      ...(parsed.note ? { note: String(parsed.note) } : {}),
      ...(parsed.source !== undefined ? { source: parsed.source } : {}),
      ...(typeof parsed.time === 'string' ? { time: parsed.time } : {}),
      ...(parsed.replayedTo ? { replayedTo: parsed.replayedTo } : {}),
    };
  } catch {
    return null;
  }
}

/**
 * True when the resolution was written for this very record (see `Resolution.source`). A
 * resolution that cannot show it is never taken: after the dead-letter topic is recreated its
 * ids start again at 0, and an old discard would hide a new, unrelated letter.
 */
export function resolutionApplies(entry: DeadLetterEntry, resolution: Resolution): boolean {
  const a = entry.source;
  const b = resolution.source;
  if (b === undefined) return false;
  if (resolution.time !== undefined && resolution.time !== entry.time) return false;
  // Neither names a source: only the dead letter's time can tell them apart.
  if (!a || !b) return a === null && b === null && resolution.time !== undefined;
  return a.topic === b.topic && a.partition === b.partition && a.offset === b.offset;
}
