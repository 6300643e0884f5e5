import { StartedAfter } from './started-after';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('StartedAfter', () => {
  it('shares a run started after the caller, and queues one run behind an older one', async () => {
    const releases: (() => void)[] = [];
    let runs = 0;
    const task = new StartedAfter(
      () =>
        new Promise<void>((resolve) => {
          runs++;
          releases.push(resolve);
        }),
    );
    const before = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 2));
    const first = task.run(before);
    await tick();
    expect(runs).toBe(1);
    // Started after `before`: shared.
    const shared = task.run(before);
    // Both asked after the first run started: one queued run serves them both.
    const late = performance.now();
    const second = task.run(late);
    const third = task.run(performance.now());
    await tick();
    expect(runs).toBe(1);
    releases[0]();
    await Promise.all([first, shared]);
    await tick();
    expect(runs).toBe(2);
    releases[1]();
    await Promise.all([second, third]);
    expect(runs).toBe(2);
    // Nothing running: a new caller starts a new run.
    const fourth = task.run(performance.now());
    await tick();
    expect(runs).toBe(3);
    releases[2]();
    await fourth;
  });

  it('lets a failed run fail its callers only, the next run goes ahead', async () => {
    let fail = true;
    const task = new StartedAfter(() =>
      fail ? Promise.reject(new Error('down')) : Promise.resolve(),
    );
    await expect(task.run(performance.now())).rejects.toThrow('down');
    fail = false;
    await expect(task.run(performance.now())).resolves.toBeUndefined();
  });
});
