/** Errors the API raises on purpose; the exception filter maps each to its HTTP status once. */
export abstract class ApiError extends Error {
  abstract readonly statusCode: number;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class TableNotFoundError extends ApiError {
  readonly statusCode = 404;
  constructor(table: string) {
    super(`table "${table}" is not synced; GET /v1/tables lists the synced tables`);
  }
}

export class DocumentNotFoundError extends ApiError {
  readonly statusCode = 404;
  constructor(table: string, id: string) {
    super(`no document with id "${id}" in table "${table}"`);
  }
}

export class InvalidQueryError extends ApiError {
  readonly statusCode = 400;
}
