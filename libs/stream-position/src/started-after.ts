/**
 * Runs a task on behalf of many callers that each need a run *started after* some moment (a
 * barrier write after their commit, a refresh after their change was applied). A run already
 * started late enough is shared; otherwise the caller joins the one queued behind it, so at
 * most one runs and one waits, whatever the number of callers.
 */
export class StartedAfter {
  private running: { startedAt: number; done: Promise<void> } | null = null;
  private queued: Promise<void> | null = null;

  constructor(private readonly task: () => Promise<void>) {}

  /** `after` is a `performance.now()` reading. */
  run(after: number): Promise<void> {
    const running = this.running;
    if (running && running.startedAt > after) return running.done;
    if (this.queued) return this.queued;
    if (!running) return this.start();
    const queued = running.done
      .catch(() => undefined)
      .then(() => {
        this.queued = null;
        return this.start();
      });
    this.queued = queued;
    return queued;
  }

  private start(): Promise<void> {
    const startedAt = performance.now();
    const done = Promise.resolve()
      .then(this.task)
      .finally(() => {
        if (this.running?.done === done) this.running = null;
      });
    this.running = { startedAt, done };
    return done;
  }
}
