import { SINGLE_NODE_SETTINGS, isOpenSearch, searchRequestTarget } from './search-engine-setup';

describe('searchRequestTarget', () => {
  it('joins the path without a double slash', () => {
    expect(searchRequestTarget('http://opensearch:9200/', '/_cluster/settings').url).toBe(
      'http://opensearch:9200/_cluster/settings',
    );
  });

  it('moves credentials out of the URL into a basic Authorization header', () => {
    const target = searchRequestTarget('https://admin:s%40cret@search.internal:9200', '/');
    expect(target.url).toBe('https://search.internal:9200/');
    expect(target.headers.authorization).toBe(
      `Basic ${Buffer.from('admin:s@cret').toString('base64')}`,
    );
    expect(searchRequestTarget('http://h:9200', '/').headers.authorization).toBeUndefined();
  });
});

describe('isOpenSearch', () => {
  it('tells the engines apart by GET / as they answer it', () => {
    expect(isOpenSearch({ version: { distribution: 'opensearch', number: '2.19.6' } })).toBe(true);
    expect(isOpenSearch({ version: { number: '9.5.3', build_flavor: 'default' } })).toBe(false);
    expect(isOpenSearch(null)).toBe(false);
  });
});

it('sets only the default replica count of new indices', () => {
  expect(SINGLE_NODE_SETTINGS).toEqual({
    persistent: { 'cluster.default_number_of_replicas': 0 },
  });
});
