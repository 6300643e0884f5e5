/** A Kafka record that cannot be turned into a change event; goes to the dead-letter topic. */
export class ChangeEventDecodeError extends Error {
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = 'ChangeEventDecodeError';
  }
}
