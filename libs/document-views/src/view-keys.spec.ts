import { documentId } from '@searchsync/change-events';
import {
  VIEW_REF_MAX_ID_LENGTH,
  keyTextsFromDocumentId,
  keyTextsFromValues,
  viewRef,
  viewRefPrefix,
} from './view-keys';

describe('keyTextsFromDocumentId', () => {
  it('inverts documentId for one-column and composite keys', () => {
    expect(keyTextsFromDocumentId(documentId([7]), 1)).toEqual(['7']);
    expect(keyTextsFromDocumentId(documentId(['a b']), 1)).toEqual(['a b']);
    expect(keyTextsFromDocumentId(documentId([7, 'eu', null]), 3)).toEqual(['7', 'eu', null]);
    expect(keyTextsFromDocumentId(documentId(['2024-01-01', 1.5]), 2)).toEqual([
      '2024-01-01',
      '1.5',
    ]);
  });

  it('is null for an id that cannot be a key of that many columns', () => {
    expect(keyTextsFromDocumentId('[1]', 2)).toBeNull();
    expect(keyTextsFromDocumentId('abc', 2)).toBeNull();
    expect(keyTextsFromDocumentId('{"a":1}', 2)).toBeNull();
  });
});

describe('keyTextsFromValues', () => {
  it('writes document values as PostgreSQL input text', () => {
    expect(keyTextsFromValues([1, 'x', null, true, '9007199254740993'])).toEqual([
      '1',
      'x',
      null,
      'true',
      '9007199254740993',
    ]);
  });
});

describe('viewRef', () => {
  it('is the table and the document id', () => {
    expect(viewRef('public.film', '7')).toBe('public.film:7');
    expect(viewRef('public.film_actor', documentId([1, 7]))).toBe('public.film_actor:[1,7]');
    expect(viewRef('public.film', '7').startsWith(viewRefPrefix('public.film'))).toBe(true);
  });

  it('hashes ids too long for one keyword, the same way every time', () => {
    const long = 'x'.repeat(VIEW_REF_MAX_ID_LENGTH + 1);
    const ref = viewRef('public.t', long);
    expect(ref).toMatch(/^public\.t:sha256:[0-9a-f]{64}$/);
    expect(viewRef('public.t', long)).toBe(ref);
    expect(viewRef('public.t', `${long}y`)).not.toBe(ref);
    expect(viewRef('public.t', 'x'.repeat(VIEW_REF_MAX_ID_LENGTH))).toHaveLength(
      'public.t:'.length + VIEW_REF_MAX_ID_LENGTH,
    );
  });
});
