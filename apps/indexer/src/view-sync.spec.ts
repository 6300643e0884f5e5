import { ViewIndexWriteError } from '@searchsync/document-views';
import { SearchEngineError } from '@searchsync/search-engine';
import { ViewDeadLettersUnsentError, passingViewFailure } from './view-sync';

describe('which view failures fail the batch (delivered again) rather than set the view aside', () => {
  it('passes outages of the engine, the database and the dead-letter topic', () => {
    expect(passingViewFailure(new SearchEngineError('unavailable', true, 503))).toBe(true);
    expect(passingViewFailure(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBe(
      true,
    );
    expect(passingViewFailure(Object.assign(new Error('admin shutdown'), { code: '08006' }))).toBe(
      true,
    );
    expect(passingViewFailure(new ViewDeadLettersUnsentError(new Error('broker down')))).toBe(true);
    const throttled = new ViewIndexWriteError(
      'a',
      [{ id: '1', type: 'index', status: 429, outcome: 'retryable' }],
      0,
    );
    expect(passingViewFailure(throttled)).toBe(true);
  });

  it('sets the view aside for what will not pass by itself', () => {
    // A column the plan selects was dropped: the view is planned again, not retried forever.
    expect(
      passingViewFailure(Object.assign(new Error('column does not exist'), { code: '42703' })),
    ).toBe(false);
    expect(passingViewFailure(new SearchEngineError('no such index', false, 404))).toBe(false);
    expect(passingViewFailure(new TypeError('a defect'))).toBe(false);
    const refused = new ViewIndexWriteError(
      'a',
      [{ id: '1', type: 'index', status: 404, outcome: 'missing_index' }],
      0,
    );
    expect(passingViewFailure(refused)).toBe(false);
  });
});
