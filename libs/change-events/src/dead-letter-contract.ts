/**
 * The dead-letter record contract between the indexer, which writes them, and the admin, which
 * lists, replays and discards them. The record's key and value are the original record's bytes;
 * these headers say why and where from.
 */
export const DEAD_LETTER_HEADERS = {
  /** What went wrong and what to do about it, for a person. */
  reason: 'searchsync.reason',
  /** One of DEAD_LETTER_CLASSES. */
  reasonClass: 'searchsync.reason.class',
  sourceTopic: 'searchsync.source.topic',
  sourcePartition: 'searchsync.source.partition',
  sourceOffset: 'searchsync.source.offset',
  /** `schema.table`, or empty when neither the event nor its topic names one. */
  table: 'searchsync.table',
  /** When it was dead-lettered, in ms since the epoch. */
  time: 'searchsync.time',
  /** Set by the admin on a replayed record, and copied onto its dead letter if it fails again. */
  replayOf: 'searchsync.replay.of',
  replayAt: 'searchsync.replay.at',
} as const;

/** Why a record went to the dead-letter topic. */
export const DEAD_LETTER_CLASSES = [
  'decode_error',
  'value_out_of_range',
  'mapping_conflict',
  'too_large',
  'table_without_key',
  'rejected',
  'conversion_error',
] as const;

export type DeadLetterClass = (typeof DEAD_LETTER_CLASSES)[number];
