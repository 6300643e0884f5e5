/** A counter with labels, as a prom-client `Counter` is one. */
export interface LabelledCounter<L extends string> {
  inc(labels: Record<L, string>): void;
}

export interface PlainCounter {
  inc(): void;
}

/** A gauge with labels, as a prom-client `Gauge` is one. */
export interface LabelledGauge<L extends string> {
  set(labels: Record<L, string>, value: number): void;
}

export interface PlainGauge {
  set(value: number): void;
}

/** A duration histogram: `startTimer()` returns the call that observes the time since. */
export interface DurationHistogram {
  startTimer(): () => unknown;
}

/**
 * What applying changes reports. A port: the indexer passes its Prometheus metrics (which have
 * these members, among others); the library depends on no metrics client.
 */
export interface IndexingMetrics {
  eventsConsumed: LabelledCounter<'table' | 'op'>;
  eventsApplied: LabelledCounter<'table' | 'op'>;
  /** Writes skipped because the engine already held a newer version of the row. */
  versionConflicts: LabelledCounter<'table'>;
  /** Writes (or calls) retried after an outage. */
  retries: PlainCounter;
  bulkLatency: DurationHistogram;
  /** Source time (seconds) of the newest applied change, per table. */
  lastSourceTimestamp: LabelledGauge<'table'>;
  vectorsNotIndexed: LabelledCounter<'table' | 'column' | 'reason'>;
  /** Unchanged TOAST columns with no stored value to keep. */
  toastUnresolved: LabelledCounter<'table'>;
  tablesWithoutKey: LabelledGauge<'table'>;
  /** 1 while writes wait on an outage, else 0. */
  writesBlocked: PlainGauge;
}

type LabelSet = Record<string, string>;

/** Counts of one metric, by its labels in a stable order. */
class Tally {
  private readonly values = new Map<string, { labels: LabelSet; value: number }>();

  add(labels: LabelSet, by: number): void {
    const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
    const entry = this.values.get(key) ?? { labels, value: 0 };
    entry.value += by;
    this.values.set(key, entry);
  }

  put(labels: LabelSet, value: number): void {
    this.add(labels, value - this.get(labels));
  }

  /** The sum over every label set that includes `labels`. */
  get(labels: LabelSet = {}): number {
    let sum = 0;
    for (const entry of this.values.values()) {
      if (Object.entries(labels).every(([name, value]) => entry.labels[name] === value)) {
        sum += entry.value;
      }
    }
    return sum;
  }
}

class CountingCounter extends Tally implements LabelledCounter<string>, PlainCounter {
  inc(labels: LabelSet = {}): void {
    this.add(labels, 1);
  }
}

class CountingGauge extends Tally implements LabelledGauge<string>, PlainGauge {
  set(labelsOrValue: LabelSet | number, value?: number): void {
    if (typeof labelsOrValue === 'number') this.put({}, labelsOrValue);
    else this.put(labelsOrValue, value ?? 0);
  }
}

class CountingHistogram implements DurationHistogram {
  observations = 0;
  startTimer(): () => void {
    return () => {
      this.observations += 1;
    };
  }
}

/**
 * IndexingMetrics kept in memory, readable back (`metrics.eventsApplied.get({ table })`): for
 * tests and tools that apply changes without a Prometheus registry.
 */
export class CountingMetrics implements IndexingMetrics {
  readonly eventsConsumed = new CountingCounter();
  readonly eventsApplied = new CountingCounter();
  readonly versionConflicts = new CountingCounter();
  readonly retries = new CountingCounter();
  readonly bulkLatency = new CountingHistogram();
  readonly lastSourceTimestamp = new CountingGauge();
  readonly vectorsNotIndexed = new CountingCounter();
  readonly toastUnresolved = new CountingCounter();
  readonly tablesWithoutKey = new CountingGauge();
  readonly writesBlocked = new CountingGauge();
}
