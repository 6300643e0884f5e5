import { viewBulkAction, viewBulkActions, viewFailures } from './view-bulk';
import type { ViewDocumentResult } from './view-documents';
import { VIEW_REFS_FIELD } from './view-plan';
import { ViewDocumentValueError } from './view.errors';

const error = new ViewDocumentValueError('v', 'shop.orders', 'total', '3', {
  cause: new RangeError('out of range'),
});
const results: ViewDocumentResult[] = [
  {
    id: '1',
    version: 9n,
    deleted: false,
    document: { id: 1, ['__proto__']: 'x', lines: [] },
    refs: ['shop.orders:1'],
  },
  { id: '2', version: 9n, deleted: true },
  { id: '3', version: 9n, deleted: false, error },
];

describe('view bulk actions', () => {
  it('indexes a document with its refs and deletes a gone root, at the snapshot version', () => {
    const actions = viewBulkActions('views_v', results);
    expect(actions).toHaveLength(2);
    const [index, deletion] = actions;
    expect(index).toMatchObject({ type: 'index', index: 'views_v', id: '1', version: 9n });
    expect(index.type === 'index' && Object.keys(index.document)).toEqual([
      'id',
      '__proto__',
      'lines',
      VIEW_REFS_FIELD,
    ]);
    expect(index.type === 'index' && index.document[VIEW_REFS_FIELD]).toEqual(['shop.orders:1']);
    expect(deletion).toEqual({ type: 'delete', index: 'views_v', id: '2', version: 9n });
    expect(viewBulkAction('views_v', results[2])).toBeNull();
  });

  it('gives the failures apart, with their typed error, never dropping them', () => {
    expect(viewFailures(results)).toEqual([{ id: '3', version: 9n, error }]);
    expect(viewFailures(results)[0].error.message).toContain('column total of shop.orders');
  });
});
