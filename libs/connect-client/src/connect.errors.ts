import { redactText } from './redact';

/** Base of Kafka Connect REST failures; messages never carry secrets. */
export class ConnectError extends Error {
  constructor(
    message: string,
    readonly statusCode: number | undefined,
    readonly retryable: boolean,
  ) {
    super(redactText(message));
    this.name = new.target.name;
  }
}

/** 409 / "rebalance is expected": the worker is busy; try again shortly. */
export class ConnectConflictError extends ConnectError {
  constructor(message: string) {
    super(message, 409, true);
  }
}

export class ConnectNotFoundError extends ConnectError {
  constructor(message: string) {
    super(message, 404, false);
  }
}

/** The worker could not be reached. */
export class ConnectUnavailableError extends ConnectError {
  constructor(message: string) {
    super(message, undefined, true);
  }
}

export class ConnectRequestError extends ConnectError {
  constructor(message: string, statusCode: number) {
    super(message, statusCode, statusCode >= 500);
  }
}
