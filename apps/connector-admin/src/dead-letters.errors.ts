import { AdminError } from './admin.errors';

/** The admin has not finished reading the dead-letter topics; the answer would be incomplete. */
export class DeadLettersNotReadError extends AdminError {
  constructor(read: number, total: number) {
    super(
      `dead-letter topics not read to their end yet (${read} of ${total} records); try again in a few seconds`,
      503,
      true,
    );
  }
}

/** The dead-letter records to replay could not be read back from Kafka in time. */
export class DeadLetterFetchError extends AdminError {
  constructor(cause: string) {
    super(`dead letters could not be read back from Kafka: ${cause}`, 503, true);
  }
}
