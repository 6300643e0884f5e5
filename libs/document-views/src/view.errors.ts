import type { ConfigLocation } from '@searchsync/config';

/**
 * A view that cannot be planned against the PostgreSQL catalogue: the configuration names
 * something the database does not have, or leaves out what only it can say. Not retryable — the
 * configuration (or the schema) has to change. The message starts with where the view (or the
 * relation) is configured, and says what to write.
 */
export class ViewPlanError extends Error {
  readonly retryable = false;
  constructor(
    readonly view: string,
    readonly location: ConfigLocation,
    message: string,
  ) {
    super(`${location.file}:${location.line}: view ${view}: ${message}`);
    this.name = 'ViewPlanError';
  }
}

/** A table the view names does not exist (or is not a plain or partitioned table). */
export class ViewTableNotFoundError extends ViewPlanError {
  constructor(
    view: string,
    location: ConfigLocation,
    readonly table: string,
    where: string,
  ) {
    super(view, location, `${where}: table ${table} does not exist`);
    this.name = 'ViewTableNotFoundError';
  }
}

/** Rows of a table without a primary key have no document id, so no view can draw on them. */
export class ViewTableWithoutKeyError extends ViewPlanError {
  constructor(
    view: string,
    location: ConfigLocation,
    readonly table: string,
    where: string,
  ) {
    super(
      view,
      location,
      `${where}: table ${table} has no primary key: its rows cannot be referenced by a view (add a primary key)`,
    );
    this.name = 'ViewTableWithoutKeyError';
  }
}

/** A column the view names (in `columns:` or `on:`) that the table does not have. */
export class ViewColumnNotFoundError extends ViewPlanError {
  constructor(
    view: string,
    location: ConfigLocation,
    readonly table: string,
    readonly column: string,
    readonly available: string[],
    where: string,
  ) {
    super(
      view,
      location,
      `${where}: table ${table} has no column ${column} (it has ${available.join(', ')})`,
    );
    this.name = 'ViewColumnNotFoundError';
  }
}

/**
 * A column the view lists that no document may hold: excluded by `tables.<table>` of
 * searchsync.yaml, or one replication does not carry (so table documents never hold it either).
 */
export class ViewColumnUnavailableError extends ViewPlanError {
  constructor(
    view: string,
    location: ConfigLocation,
    readonly table: string,
    readonly column: string,
    readonly reason: string,
    where: string,
  ) {
    super(
      view,
      location,
      `${where}: column ${column} of ${table} cannot be in a document (${reason}): remove it from columns`,
    );
    this.name = 'ViewColumnUnavailableError';
  }
}

/** `on:` given, but not columns that can hold the referenced key. */
export class ViewJoinInvalidError extends ViewPlanError {
  constructor(view: string, location: ConfigLocation, where: string, problem: string) {
    super(view, location, `${where}: ${problem}`);
    this.name = 'ViewJoinInvalidError';
  }
}

/** `on:` omitted, and the foreign keys do not name exactly one way to join. */
export class ViewJoinNotInferredError extends ViewPlanError {
  constructor(view: string, location: ConfigLocation, where: string, problem: string) {
    super(view, location, `${where}: ${problem}`);
    this.name = 'ViewJoinNotInferredError';
  }
}

/** Two things of one document would have the same field name. */
export class ViewFieldConflictError extends ViewPlanError {
  constructor(view: string, location: ConfigLocation, where: string, problem: string) {
    super(view, location, `${where}: ${problem}`);
    this.name = 'ViewFieldConflictError';
  }
}

/**
 * A value of a row the view draws on that the indexer's conversion refuses (as it would refuse
 * the change event of that row): the document cannot be written, the others of its batch can.
 */
export class ViewDocumentValueError extends Error {
  readonly retryable = false;
  constructor(
    readonly view: string,
    readonly table: string,
    readonly column: string,
    readonly path: string,
    options: { cause: unknown },
  ) {
    super(
      `view ${view}: column ${column} of ${table} (at ${path}) cannot be converted: ${(options.cause as Error)?.message ?? String(options.cause)}`,
      options,
    );
    this.name = 'ViewDocumentValueError';
  }
}
