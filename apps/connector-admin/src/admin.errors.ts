/**
 * Typed errors of the admin. Each knows its HTTP status and whether retrying can help; the
 * ErrorFilter is the one place they become responses.
 */
export class AdminError extends Error {
  constructor(
    message: string,
    readonly statusCode: number,
    readonly retryable = false,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
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

export class AdminUnauthorizedError extends AdminError {
  constructor(message: string, statusCode: 401 | 403) {
    super(message, statusCode);
  }
}

/** A dependency (PostgreSQL, Kafka) could not be reached. */
export class DependencyUnavailableError extends AdminError {
  constructor(what: string, cause: string) {
    super(`${what} unavailable: ${cause}`, 503, true);
  }
}
