import { appEnvironment, engineLabel, readStackSettings } from './stack-settings';

describe('the Elasticsearch release of the local stack', () => {
  it('is the pom’s unless SEARCHSYNC_ELASTICSEARCH_VERSION names one', () => {
    expect(
      readStackSettings({ SEARCHSYNC_ENGINE: 'elasticsearch' }).elasticsearchVersion,
    ).toBeNull();
    const eight = readStackSettings({
      SEARCHSYNC_ENGINE: 'elasticsearch',
      SEARCHSYNC_ELASTICSEARCH_VERSION: '8.19.21',
    });
    expect(eight.elasticsearchVersion).toBe('8.19.21');
    expect(engineLabel(eight)).toBe('elasticsearch-8.19.21');
  });

  it('gets its own indexer group: its node starts empty', () => {
    const group = (env: NodeJS.ProcessEnv) =>
      appEnvironment(readStackSettings(env)).INDEXER_GROUP_ID;
    expect(group({})).toBe('searchsync-indexer');
    expect(group({ SEARCHSYNC_ENGINE: 'elasticsearch' })).toBe('searchsync-indexer-elasticsearch');
    expect(
      group({ SEARCHSYNC_ENGINE: 'elasticsearch', SEARCHSYNC_ELASTICSEARCH_VERSION: '8.19.21' }),
    ).toBe('searchsync-indexer-elasticsearch-8.19.21');
  });

  it('means nothing to OpenSearch, and must be a release number', () => {
    expect(
      readStackSettings({ SEARCHSYNC_ELASTICSEARCH_VERSION: '8.19.21' }).elasticsearchVersion,
    ).toBeNull();
    expect(() =>
      readStackSettings({
        SEARCHSYNC_ENGINE: 'elasticsearch',
        SEARCHSYNC_ELASTICSEARCH_VERSION: '8',
      }),
    ).toThrow(/is not a release number: use e\.g\. 8\.19\.21/);
  });
});
