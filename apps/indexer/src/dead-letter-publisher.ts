import type { IHeaders, Message, Producer } from 'kafkajs';
import { DEAD_LETTER_HEADERS } from '@searchsync/change-events';
import type { DeadLetter, DeadLetterSink } from '@searchsync/indexing';
import type { IndexerMetrics } from './indexer-metrics';

/** One chunk of dead letters is at most this big: a broker's default request limit is 1 MB. */
const CHUNK_BYTES = 512 * 1024;

const isTooLarge = (error: unknown) =>
  ['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE'].includes(
    String((error as { type?: unknown }).type),
  );

/** Sends records that cannot be indexed to the dead-letter topic, with why and where from. */
export class DeadLetterPublisher implements DeadLetterSink {
  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly metrics: IndexerMetrics,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Sends the letters in chunks and removes each chunk from `letters` once the broker has it:
   * after a failure, calling again with the same list sends only what is still unsent, never a
   * letter twice.
   */
  async publish(letters: DeadLetter[]): Promise<void> {
    while (letters.length > 0) {
      const count = this.chunkLength(letters);
      try {
        await this.send(letters.slice(0, count));
      } catch (error) {
        if (!isTooLarge(error) || count === 1) throw error;
        // The chunk as a whole is too large for the broker: one letter a request instead.
        for (let sent = 0; sent < count; sent++) {
          await this.send([letters[0]]);
          letters.shift();
        }
        continue;
      }
      letters.splice(0, count);
    }
  }

  /** How many letters from the start of the list go in one request. */
  private chunkLength(letters: DeadLetter[]): number {
    let bytes = 0;
    let count = 0;
    for (const letter of letters) {
      const size =
        (letter.key?.length ?? 0) + (letter.value?.length ?? 0) + letter.reason.length + 300;
      if (count > 0 && bytes + size > CHUNK_BYTES) break;
      count += 1;
      bytes += size;
    }
    return count;
  }

  /** The Kafka message of a dead letter: the original key and value, the facts in headers. */
  message(letter: DeadLetter, time = this.now()): Message {
    const headers: IHeaders = {
      [DEAD_LETTER_HEADERS.reason]: letter.reason,
      [DEAD_LETTER_HEADERS.reasonClass]: letter.reasonClass,
      [DEAD_LETTER_HEADERS.sourceTopic]: letter.topic,
      [DEAD_LETTER_HEADERS.sourcePartition]: String(letter.partition),
      [DEAD_LETTER_HEADERS.sourceOffset]: letter.offset,
      [DEAD_LETTER_HEADERS.table]: letter.table,
      [DEAD_LETTER_HEADERS.time]: String(time),
      ...(letter.replayOf !== undefined ? { [DEAD_LETTER_HEADERS.replayOf]: letter.replayOf } : {}),
    };
    return { key: letter.key, value: letter.value, headers };
  }

  private async send(letters: DeadLetter[]): Promise<void> {
    try {
      await this.producer.send({
        topic: this.topic,
        acks: -1,
        messages: letters.map((letter) => this.message(letter)),
      });
    } catch (error) {
      if (!isTooLarge(error) || letters.length > 1 || letters[0].value === null) throw error;
      // The original value does not fit the dead-letter topic: keep where it is instead, so the
      // letter still says what failed (the source record stays readable until retention).
      const [letter] = letters;
      await this.send([
        {
          ...letter,
          value: null,
          reason: `${letter.reason} (the original value, ${letter.value?.length ?? 0} bytes, exceeds the dead-letter topic's max.message.bytes and was left out: read it from the source topic, partition and offset)`,
        },
      ]);
      return;
    }
    for (const letter of letters) {
      this.metrics.deadLettered.inc({ reason: letter.reasonClass, table: letter.table });
    }
  }
}
