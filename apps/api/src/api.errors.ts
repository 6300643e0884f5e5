import { HttpError } from '@searchsync/app-kit';

/** Errors the API raises on purpose; the one error mapping (app-kit) answers each with its status. */
export abstract class ApiError extends HttpError {}

export class TableNotFoundError extends ApiError {
  readonly statusCode = 404;
  constructor(table: string) {
    super(
      `table ${JSON.stringify(table.length > 80 ? `${table.slice(0, 77)}...` : table)} is not synced; GET /v1/tables lists the synced tables`,
    );
  }
}

export class DocumentNotFoundError extends ApiError {
  readonly statusCode = 404;
  constructor(table: string, id: string) {
    super(
      `no document with id ${JSON.stringify(id.length > 80 ? `${id.slice(0, 77)}...` : id)} in table "${table}"`,
    );
  }
}

export class InvalidQueryError extends ApiError {
  readonly statusCode = 400;
}

export class InvalidCursorError extends ApiError {
  readonly statusCode = 400;
  constructor(why: string, options?: ErrorOptions) {
    super(`invalid cursor: ${why}; start again without a cursor`, options);
  }
}

export class TableAccessDeniedError extends ApiError {
  readonly statusCode = 403;
  constructor(key: string, table: string) {
    super(`API key "${key}" may not read table "${table}"`);
  }
}
