import { redactText } from './redact';

/** Base of connector-backend failures; messages never carry secrets. */
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

/** The worker (or the cloud API) could not be reached, or answered 5xx. */
export class ConnectUnavailableError extends ConnectError {
  constructor(message: string, statusCode?: number) {
    super(message, statusCode, true);
  }
}

export class ConnectRequestError extends ConnectError {
  constructor(message: string, statusCode: number) {
    super(message, statusCode, statusCode >= 500);
  }
}

/** The backend cannot do this at all (e.g. MSK Connect has no stop, offsets or validate). */
export class ConnectCapabilityError extends ConnectError {
  constructor(
    readonly backend: string,
    readonly capability: string,
  ) {
    super(`${backend} does not support ${capability}`, 501, false);
  }
}
