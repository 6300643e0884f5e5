import { BatchPipeline } from './batch-pipeline';

/** A promise settled from outside, for one batch's apply. */
function deferred() {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

function pipelineWith(depth: number) {
  const commits: string[] = [];
  const failures: unknown[] = [];
  const pipeline = new BatchPipeline(
    depth,
    (topic, partition, offset) => {
      commits.push(`${topic}[${partition}]@${offset}`);
      return Promise.resolve();
    },
    (error) => failures.push(error),
  );
  return { pipeline, commits, failures };
}

describe('BatchPipeline', () => {
  it('commits a partition’s batches in order, though a later one lands first', async () => {
    const { pipeline, commits } = pipelineWith(4);
    const first = deferred();
    const second = deferred();
    await pipeline.submit('t', 0, '9', () => first.promise);
    await pipeline.submit('t', 0, '19', () => second.promise);
    second.resolve();
    await tick();
    expect(commits).toEqual([]);
    first.resolve();
    await pipeline.close();
    expect(commits).toEqual(['t[0]@10', 't[0]@20']);
  });

  it('keeps partitions independent', async () => {
    const { pipeline, commits } = pipelineWith(4);
    const stuck = deferred();
    await pipeline.submit('t', 0, '9', () => stuck.promise);
    await pipeline.submit('t', 1, '4', () => Promise.resolve());
    await tick();
    expect(commits).toEqual(['t[1]@5']);
    stuck.resolve();
    await pipeline.close();
    expect(commits).toEqual(['t[1]@5', 't[0]@10']);
  });

  it('makes a submit wait while more than `depth` batches of its partition are in flight', async () => {
    const { pipeline } = pipelineWith(1);
    const first = deferred();
    await pipeline.submit('t', 0, '0', () => first.promise);
    let returned = false;
    const second = pipeline
      .submit('t', 0, '1', () => Promise.resolve())
      .then(() => {
        returned = true;
      });
    await tick();
    expect(returned).toBe(false);
    first.resolve();
    await second;
    expect(returned).toBe(true);
  });

  it('lets a batch wait for the earlier ones to land (what a truncate needs)', async () => {
    const { pipeline } = pipelineWith(4);
    const first = deferred();
    const order: string[] = [];
    await pipeline.submit('t', 0, '0', async () => {
      await first.promise;
      order.push('first landed');
    });
    await pipeline.submit('t', 0, '1', async ({ earlierLanded }) => {
      order.push('second decoded');
      await earlierLanded();
      order.push('second truncates');
    });
    await tick();
    expect(order).toEqual(['second decoded']);
    first.resolve();
    await pipeline.close();
    expect(order).toEqual(['second decoded', 'first landed', 'second truncates']);
  });

  it('lets a batch write only once the one before has issued its writes and truncates', async () => {
    const { pipeline } = pipelineWith(4);
    const order: string[] = [];
    let firstIssued!: () => void;
    const firstLanded = deferred();
    await pipeline.submit('t', 0, '0', async ({ issued }) => {
      firstIssued = issued;
      await firstLanded.promise;
    });
    await pipeline.submit('t', 0, '1', async ({ earlierIssued }) => {
      await earlierIssued();
      order.push('second writes');
    });
    await tick();
    expect(order).toEqual([]);
    // The first batch's truncate is done: the second may write before the first has landed.
    firstIssued();
    await tick();
    expect(order).toEqual(['second writes']);
    firstLanded.resolve();
    await pipeline.close();
  });

  it('does not hold the next batch back when one fails before issuing its writes', async () => {
    const { pipeline } = pipelineWith(4);
    let next = false;
    await pipeline.submit('t', 0, '0', () => Promise.reject(new Error('decode blew up')));
    await pipeline.submit('t', 0, '1', async ({ earlierIssued }) => {
      await earlierIssued();
      next = true;
    });
    await pipeline.close();
    expect(next).toBe(true);
  });

  it('never has more than `depth` batches of a partition applying at once', async () => {
    const { pipeline } = pipelineWith(2);
    let applying = 0;
    let peak = 0;
    const batches = Array.from({ length: 6 }, (_, i) =>
      pipeline.submit('t', 0, String(i), async () => {
        applying += 1;
        peak = Math.max(peak, applying);
        await new Promise((resolve) => setTimeout(resolve, 5));
        applying -= 1;
      }),
    );
    for (const batch of batches) await batch;
    await pipeline.close();
    expect(peak).toBe(2);
  });

  it('commits nothing after a failed batch, reports the failure once and refuses new batches', async () => {
    const { pipeline, commits, failures } = pipelineWith(4);
    const failing = deferred();
    await pipeline.submit('t', 0, '9', () => Promise.resolve());
    await pipeline.submit('t', 0, '19', () => failing.promise);
    await pipeline.submit('t', 0, '29', () => Promise.resolve());
    await pipeline.submit('t', 1, '5', () => new Promise<void>((r) => setTimeout(r, 5)));
    failing.reject(new Error('engine exploded'));
    await tick();
    await new Promise((r) => setTimeout(r, 10));
    expect(failures).toEqual([new Error('engine exploded')]);
    expect(pipeline.accepting).toBe(false);
    // The first batch landed before; nothing after the failure is committed, on any partition.
    expect(commits).toEqual(['t[0]@10']);
  });

  it('stops waiting on a full lane when a batch fails', async () => {
    const { pipeline, failures } = pipelineWith(1);
    const never = new Promise<void>(() => undefined);
    const failing = deferred();
    await pipeline.submit('t', 0, '0', () => failing.promise);
    const waiting = pipeline.submit('t', 0, '1', () => never);
    failing.reject(new Error('boom'));
    await waiting;
    expect(failures).toHaveLength(1);
  });

  it('never commits an offset below one already committed (a batch read again after a rebalance)', async () => {
    const { pipeline, commits } = pipelineWith(4);
    await pipeline.submit('t', 0, '19', () => Promise.resolve());
    await pipeline.submit('t', 0, '9', () => Promise.resolve());
    await pipeline.close();
    expect(commits).toEqual(['t[0]@20']);
  });

  it('counts batches that give up because the pipeline closed as no failure', async () => {
    const { pipeline, failures, commits } = pipelineWith(4);
    const giving = deferred();
    await pipeline.submit('t', 0, '0', () => giving.promise);
    const closing = pipeline.close();
    expect(pipeline.accepting).toBe(false);
    expect(pipeline.open).toBe(false);
    giving.reject(new Error('indexer is stopping'));
    await closing;
    expect(failures).toEqual([]);
    expect(commits).toEqual([]);
  });
});
