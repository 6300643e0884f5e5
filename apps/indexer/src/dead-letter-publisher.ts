import type { Producer } from 'kafkajs';
import type { IndexerMetrics } from './indexer-metrics';

export interface DeadLetter {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  reason: string;
  /** Short machine-readable class of the reason, for the metric label. */
  kind: 'decode' | 'rejected';
}

/** Sends records that cannot be indexed to the dead-letter topic, with why and where from. */
export class DeadLetterPublisher {
  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly metrics: IndexerMetrics,
  ) {}

  async publish(letters: DeadLetter[]): Promise<void> {
    // One request per ~512 kB: a batch of wide rows must not exceed the broker's request limit.
    let chunk: DeadLetter[] = [];
    let bytes = 0;
    for (const letter of letters) {
      const size =
        (letter.key?.length ?? 0) + (letter.value?.length ?? 0) + letter.reason.length + 200;
      if (chunk.length > 0 && bytes + size > 512 * 1024) {
        await this.send(chunk);
        chunk = [];
        bytes = 0;
      }
      chunk.push(letter);
      bytes += size;
    }
    if (chunk.length > 0) await this.send(chunk);
  }

  private async send(letters: DeadLetter[]): Promise<void> {
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: letters.map((letter) => ({
        key: letter.key,
        value: letter.value,
        headers: {
          'searchsync.reason': letter.reason,
          'searchsync.source.topic': letter.topic,
          'searchsync.source.partition': String(letter.partition),
          'searchsync.source.offset': letter.offset,
        },
      })),
    });
    for (const letter of letters) this.metrics.deadLettered.inc({ reason: letter.kind });
  }
}
