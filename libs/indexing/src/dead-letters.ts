import { Logger } from '@nestjs/common';
import { DEAD_LETTER_HEADERS, type DeadLetterClass } from '@searchsync/change-events';
import type { IHeaders } from 'kafkajs';
import type { DeadLetterReason } from './dead-letter-reason';
import type { SourceRecord } from './source-record';

/** A record that cannot be indexed, with why: what the dead-letter topic receives. */
export interface DeadLetter {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** What went wrong, with the fix. */
  reason: string;
  reasonClass: DeadLetterClass;
  /** `schema.table`, or empty when the record did not say. */
  table: string;
  /** The dead letter the failed record was a replay of (header `searchsync.replay.of`). */
  replayOf?: string;
}

/**
 * Where dead letters go. A port: the indexer passes its Kafka publisher. `publish` removes each
 * letter from the list once it is stored, so that a call again after a failure sends only the
 * rest, never a letter twice.
 */
export interface DeadLetterSink {
  publish(letters: DeadLetter[]): Promise<void>;
}

/** `schema.table` from a `<prefix>.<schema>.<table>` topic (the prefix has no dots). */
export function tableOfTopic(topic: string): string {
  const parts = topic.split('.');
  return parts.length === 3 ? `${parts[1]}.${parts[2]}` : '';
}

function headerText(value: IHeaders[string]): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}

/** The dead letters one batch decided on, in record order, each record at most once. */
export class DeadLetterBatch {
  // The applier's decisions: logged under its name.
  private readonly logger = new Logger('ChangeApplier');
  readonly letters: DeadLetter[] = [];

  /** Sets a record aside with its reason; a record already set aside is not added again. */
  add(record: SourceRecord, reason: DeadLetterReason, table: string): void {
    // A change refused by the live index and by a generation being rebuilt is one dead letter.
    if (
      this.letters.some(
        (l) =>
          l.topic === record.topic &&
          l.partition === record.partition &&
          l.offset === record.offset,
      )
    ) {
      return;
    }
    this.logger.warn(
      `dead-lettering ${record.topic}[${record.partition}]@${record.offset} (${reason.class}): ${reason.message}`,
    );
    // A replay that fails again says which dead letter it re-drove.
    const replayOf = headerText(record.headers?.[DEAD_LETTER_HEADERS.replayOf]);
    this.letters.push({
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
      key: record.key,
      value: record.value,
      reason: reason.message,
      reasonClass: reason.class,
      table,
      ...(replayOf !== undefined ? { replayOf } : {}),
    });
  }
}

/**
 * A DeadLetterSink that keeps what would be published, in memory: for tests and tools that apply
 * changes without Kafka.
 */
export class InMemoryDeadLetters implements DeadLetterSink {
  readonly letters: DeadLetter[] = [];

  publish(letters: DeadLetter[]): Promise<void> {
    this.letters.push(...letters.splice(0));
    return Promise.resolve();
  }
}
