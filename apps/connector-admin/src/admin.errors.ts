import { HttpError } from '@searchsync/app-kit';

/**
 * Typed errors of the admin. Each knows its HTTP status and whether retrying can help; the one
 * error mapping (app-kit, shared with the API) answers them, `details` beside the message.
 */
export class AdminError extends HttpError {
  constructor(
    message: string,
    readonly statusCode: number,
    readonly retryable = false,
    details?: Record<string, unknown>,
    options?: ErrorOptions,
  ) {
    super(message, { ...options, details });
  }
}

export class ConnectorPolicyError extends AdminError {
  constructor(violations: { key: string; message: string }[]) {
    super(
      `connector config refused by policy: ${violations.map((v) => v.message).join('; ')}`,
      400,
      false,
      { errors: violations },
    );
  }
}

export class ConnectorInvalidError extends AdminError {
  constructor(errors: { key: string; message: string }[]) {
    super(
      `connector config is invalid: ${errors.map((e) => `${e.key}: ${e.message}`).join('; ')}`,
      400,
      false,
      { valid: false, errors },
    );
  }
}

export class AdminBadRequestError extends AdminError {
  constructor(message: string) {
    super(message, 400);
  }
}

export class TableNotFoundError extends AdminError {
  constructor(table: string, why: string) {
    super(`table ${table} ${why}`, 404);
  }
}

export class ResyncNotFoundError extends AdminError {
  constructor(id: string) {
    super(`resync ${id} not found`, 404);
  }
}

/** A dependency (PostgreSQL, Kafka) could not be reached; `cause` is the failure itself when known. */
export class DependencyUnavailableError extends AdminError {
  constructor(what: string, reason: string, cause?: unknown) {
    super(
      `${what} unavailable: ${reason}`,
      503,
      true,
      undefined,
      cause === undefined ? undefined : { cause },
    );
  }
}
