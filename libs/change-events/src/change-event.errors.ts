/** A Kafka record that cannot be turned into a change event; goes to the dead-letter topic. */
export class ChangeEventDecodeError extends Error {
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = 'ChangeEventDecodeError';
  }
}

/** Rows of a table without a primary key cannot become documents with a stable id. */
export class TableWithoutKeyError extends ChangeEventDecodeError {
  constructor(readonly table: string) {
    super(
      `table ${table} has no primary key: add one, or set message.key.columns for it in the connector (and REPLICA IDENTITY FULL, or PostgreSQL refuses its updates and deletes while it is published)`,
    );
    this.name = 'TableWithoutKeyError';
  }
}
