import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { waitUntil } from '@searchsync/retry';
import { createLazySearchEngine, type SearchEngine } from '@searchsync/search-engine';
import {
  IndexingHarness,
  engineConnection,
  engineRequest,
  recorded,
} from './support/indexing-harness';

/** A port nothing listens on (yet). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Opens `port` as a plain TCP path to the engine: the engine becomes reachable there. */
async function openPath(port: number, target: URL): Promise<() => Promise<void>> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 80), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
      socket.on('close', () => sockets.delete(socket));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}

/**
 * When the engine is down or answers 429, the applier backs off and retries for as long as it
 * takes; nothing is lost, skipped or dead-lettered, and the batch returns (to be committed) only
 * once every change is in the engine.
 */
describe('engine outages (recorded ops_probe changes → ChangeApplier → OpenSearch)', () => {
  const ops = recorded('opsProbe');
  // Row 2 created then deleted, row 3 created: the order must survive the retries.
  const batch = [ops[6], ops[7], ops[8]];
  let harness: IndexingHarness | undefined;
  let unreachable: SearchEngine | undefined;
  let closePath: (() => Promise<void>) | undefined;

  afterEach(async () => {
    await closePath?.();
    await unreachable?.close();
    await harness?.close();
    [harness, unreachable, closePath] = [undefined, undefined, undefined];
  });

  it('waits out writes refused with 429 (flood-stage block) and then applies the whole batch', async () => {
    const h = (harness = await IndexingHarness.open('throttled'));
    await h.apply([ops[2]]);
    // What OpenSearch does by itself when the disk fills up: every write answered 429.
    await engineRequest('PUT', `/${h.alias('ops_probe')}/_settings`, {
      'index.blocks.read_only_allow_delete': true,
    });

    const applying = h.apply(batch);
    expect(await waitUntil(() => h.applier.writeStatus().blocked, 10_000, 20)).toBe(true);
    expect(h.applier.writeStatus().reason).toMatch(/TOO_MANY_REQUESTS|read-only-allow-delete/);
    expect(await waitUntil(() => h.metrics.retries.get() >= 3, 10_000, 20)).toBe(true);
    expect(await h.document('ops_probe', '3')).toBeNull();

    await engineRequest('PUT', `/${h.alias('ops_probe')}/_settings`, {
      'index.blocks.read_only_allow_delete': null,
    });
    await applying;

    expect(await h.document('ops_probe', '2')).toBeNull();
    expect(await h.document('ops_probe', '3')).toMatchObject({ id: 3, name: 'two' });
    expect(await h.document('ops_probe', '1')).toMatchObject({ id: 1, name: 'one' });
    expect(h.letters.letters).toEqual([]);
    expect(h.applier.writeStatus()).toEqual({ blocked: false });
  });

  it('waits out an engine it cannot reach until it answers, losing nothing', async () => {
    const port = await freePort();
    const connection = engineConnection();
    unreachable = createLazySearchEngine({ ...connection, url: `http://127.0.0.1:${port}` });
    const h = (harness = await IndexingHarness.open('unreachable', {
      applierEngine: unreachable,
    }));

    const applying = h.apply([ops[2], ...batch]);
    expect(await waitUntil(() => h.metrics.retries.get() >= 3, 10_000, 20)).toBe(true);
    expect(await h.document('ops_probe', '1')).toBeNull();

    closePath = await openPath(port, new URL(connection.url ?? ''));
    await applying;

    expect(await h.document('ops_probe', '1')).toMatchObject({ id: 1, name: 'one' });
    expect(await h.document('ops_probe', '2')).toBeNull();
    expect(await h.document('ops_probe', '3')).toMatchObject({ id: 3, name: 'two' });
    expect(h.letters.letters).toEqual([]);
  });
});
