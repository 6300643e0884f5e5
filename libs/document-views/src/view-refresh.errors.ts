/**
 * A document id found in a view's index that cannot be the key of its root table (a composite
 * key of another width, or not a JSON array): written before the root table's key changed, most
 * likely. Not retryable — rebuild the view, which writes every document from its row again.
 */
export class ViewRootIdInvalidError extends Error {
  readonly retryable = false;
  constructor(
    readonly view: string,
    readonly id: string,
    readonly keyColumns: number,
  ) {
    super(
      `view ${view}: document id ${JSON.stringify(id)} in the index is not a key of ${keyColumns} column(s) of the root table: rebuild the view`,
    );
    this.name = 'ViewRootIdInvalidError';
  }
}
