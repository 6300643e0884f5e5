/** What /health says about writes: blocked while any partition waits on an outage. */
export interface WriteStatus {
  blocked: boolean;
  /** The oldest block still in force, for a person. */
  reason?: string;
  /** Epoch ms when that block began. */
  since?: number;
}

/** Transient outages (429, 5xx, unreachable) count as a block once they last this long. */
export const TRANSIENT_BLOCK_MS = 10_000;

/**
 * The writes currently waiting on an outage, one entry per waiting write (partitions are applied
 * concurrently, and one partition's success does not lift another's block).
 */
export class WriteBlocks {
  private readonly blocks = new Map<symbol, { reason: string; since: number }>();

  constructor(
    private readonly onChange: (blocked: boolean) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /** One waiting write: report it while it waits, clear it when it is done (either way). */
  waiter(label: string): BlockWaiter {
    return new BlockWaiter(this, Symbol(label), this.now);
  }

  status(): WriteStatus {
    let oldest: { reason: string; since: number } | undefined;
    for (const block of this.blocks.values()) {
      if (!oldest || block.since < oldest.since) oldest = block;
    }
    return oldest
      ? { blocked: true, reason: oldest.reason, since: oldest.since }
      : { blocked: false };
  }

  /** @internal */
  set(token: symbol, reason: string, since: number): void {
    const had = this.blocks.size > 0;
    this.blocks.set(token, { reason, since });
    if (!had) this.onChange(true);
  }

  /** @internal */
  clear(token: symbol): void {
    if (!this.blocks.delete(token)) return;
    if (this.blocks.size === 0) this.onChange(false);
  }
}

/** The block state of one write that retries through an outage. */
export class BlockWaiter {
  private firstFailureAt: number | null = null;

  constructor(
    private readonly blocks: WriteBlocks,
    private readonly token: symbol,
    private readonly now: () => number,
  ) {}

  /** The write failed for this outage and will be retried. */
  failed(outage: { transient: boolean; reason: string }): void {
    const now = this.now();
    this.firstFailureAt ??= now;
    // A 429 or one 5xx is normal life for a busy engine: only a lasting one is a block.
    if (!outage.transient || now - this.firstFailureAt >= TRANSIENT_BLOCK_MS) {
      this.blocks.set(this.token, outage.reason, this.firstFailureAt);
    }
  }

  /** The write went through (or is abandoned): no longer blocked. */
  done(): void {
    this.firstFailureAt = null;
    this.blocks.clear(this.token);
  }
}
