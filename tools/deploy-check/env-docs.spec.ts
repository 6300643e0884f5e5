import { checkEnvDocs, documentedEnv, undocumentedEnv, unknownEnv } from './env-docs';
import { findRepoRoot } from './repo-paths';

describe('documentedEnv', () => {
  it('reads the names of the first cell of each table row', () => {
    const markdown = [
      '| variable | default | meaning |',
      '| --- | --- | --- |',
      '| `API_HOST` / `API_PORT` | `127.0.0.1` / `3000` | api, see `NOT_A_NAME_CELL` |',
      '| `ADMIN_HEAL_*` | 3 s | healer |',
      'Prose that mentions `SOMETHING_ELSE` is not a table.',
    ].join('\n');
    expect(documentedEnv(markdown)).toEqual(['API_HOST', 'API_PORT', 'ADMIN_HEAL_*']);
  });
});

describe('undocumentedEnv', () => {
  it('covers exact names and PREFIX_* entries', () => {
    expect(
      undocumentedEnv(
        ['API_HOST', 'ADMIN_HEAL_INTERVAL_MS', 'ADMIN_PORT'],
        ['API_HOST', 'ADMIN_HEAL_*'],
      ),
    ).toEqual(['ADMIN_PORT']);
  });

  it('finds rows about variables nothing reads', () => {
    expect(unknownEnv(['API_HOST', 'ADMIN_HEAL_*', 'GONE'], ['API_HOST', 'ADMIN_HEAL_X'])).toEqual([
      'GONE',
    ]);
  });
});

describe('the variable tables of the docs', () => {
  it('document every variable of the apps and of the pipeline bootstrap, and no other', () => {
    expect(checkEnvDocs(findRepoRoot(__dirname))).toEqual([]);
  });
});
