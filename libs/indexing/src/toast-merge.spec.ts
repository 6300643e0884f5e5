import { keepStoredToast, unchangedToastColumns, withStoredToast } from './toast-merge';

/** Debezium's placeholder, as text, as base64 (bytea) and as a one-element array. */
const TEXT = '__debezium_unavailable_value';
const BASE64 = 'X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==';

describe('TOAST placeholders', () => {
  it('finds the unchanged columns whatever their type', () => {
    expect(
      unchangedToastColumns({ id: 1, note: 'n1', t: TEXT, b: BASE64, a: [TEXT], j: null }),
    ).toEqual(['t', 'b', 'a']);
  });

  it('keeps the stored values, and leaves out a column with nothing stored', () => {
    const document = { id: 1, note: 'n2', t: TEXT, b: BASE64 };
    const unresolved = keepStoredToast(document, { id: 1, note: 'n1', t: 'long text' });
    expect(document).toEqual({ id: 1, note: 'n2', t: 'long text' });
    expect(unresolved).toEqual(['b']);
  });

  it('leaves out every placeholder when no document is stored', () => {
    const document = { id: 1, t: TEXT };
    expect(keepStoredToast(document, null)).toEqual(['t']);
    expect(document).toEqual({ id: 1 });
  });

  it('takes a rebuilt copy’s own stored value where it has one', () => {
    const live = { id: 1, note: 'n2', t: 'from the live index' };
    expect(withStoredToast(live, { t: 'from the new generation' }, ['t'])).toEqual({
      id: 1,
      note: 'n2',
      t: 'from the new generation',
    });
    expect(withStoredToast(live, null, ['t'])).toEqual(live);
    expect(live.t).toBe('from the live index');
  });
});
