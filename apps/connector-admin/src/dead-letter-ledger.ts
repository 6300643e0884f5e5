import {
  deadLetterId,
  parseDeadLetterId,
  resolutionApplies,
  type DeadLetterEntry,
  type DeadLetterStatus,
  type ReasonClass,
  type Resolution,
} from './dead-letter-record';

export interface DeadLetterView extends DeadLetterEntry {
  status: DeadLetterStatus;
  resolution: Resolution | null;
}

export interface DeadLetterQuery {
  table?: string;
  reason?: ReasonClass;
  /** Default `unresolved`. */
  status?: DeadLetterStatus | 'all';
  /** Entries after this id, in (partition, offset) order. */
  after?: { partition: number; offset: string };
  limit: number;
}

export interface DeadLetterPage {
  /** Entries matching the filters, over every page. */
  total: number;
  items: DeadLetterView[];
  /** Cursor for the next page (`after`), null on the last one. */
  next: string | null;
}

export interface DeadLetterSelection {
  ids?: string[];
  table?: string;
  reason?: ReasonClass;
  limit: number;
}

export interface SelectedLetters {
  selected: DeadLetterEntry[];
  skipped: { id: string; why: string }[];
  /** Unresolved entries that matched the filters but were beyond the limit. */
  remaining: number;
}

const compareOffsets = (a: string, b: string) => {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
};

/**
 * What the admin knows about the dead-letter topic: one entry per record (read in offset order
 * per partition) and the resolutions, joined when asked. Pure state, fed by the topic readers.
 */
export class DeadLetterLedger {
  /** Per partition, entries in offset order (the order Kafka delivers them). */
  private readonly partitions = new Map<number, DeadLetterEntry[]>();
  private readonly byId = new Map<string, DeadLetterEntry>();
  private readonly resolutions = new Map<string, Resolution>();

  get size(): number {
    return this.byId.size;
  }

  addLetter(entry: DeadLetterEntry): void {
    if (this.byId.has(entry.id)) return;
    let list = this.partitions.get(entry.partition);
    if (!list) {
      list = [];
      this.partitions.set(entry.partition, list);
    }
    const last = list[list.length - 1];
    if (last && compareOffsets(last.offset, entry.offset) > 0) {
      // Only after a re-read from an earlier offset; keep the order the listing pages by.
      list.push(entry);
      list.sort((a, b) => compareOffsets(a.offset, b.offset));
    } else {
      list.push(entry);
    }
    this.byId.set(entry.id, entry);
  }

  /** A resolution record; null (a tombstone) forgets the resolution. */
  setResolution(id: string, resolution: Resolution | null): void {
    if (resolution) this.resolutions.set(id, resolution);
    else this.resolutions.delete(id);
  }

  /**
   * Drops entries Kafka no longer has (below the partition's low watermark, by retention or a
   * deletion of records) and returns those of them that were unresolved: each is a change that
   * was never applied, which the caller must report rather than forget.
   */
  prune(partition: number, lowOffset: string): DeadLetterEntry[] {
    const list = this.partitions.get(partition);
    if (!list) return [];
    let cut = 0;
    while (cut < list.length && compareOffsets(list[cut].offset, lowOffset) < 0) cut++;
    const lost: DeadLetterEntry[] = [];
    for (const entry of list.splice(0, cut)) {
      if (!this.resolutionOf(entry)) lost.push(entry);
      this.byId.delete(entry.id);
    }
    return lost;
  }

  clear(): void {
    this.partitions.clear();
    this.byId.clear();
    this.resolutions.clear();
  }

  get(id: string): DeadLetterEntry | undefined {
    return this.byId.get(id);
  }

  resolutionOf(entry: DeadLetterEntry): Resolution | null {
    const resolution = this.resolutions.get(entry.id);
    return resolution && resolutionApplies(entry, resolution) ? resolution : null;
  }

  view(entry: DeadLetterEntry): DeadLetterView {
    const resolution = this.resolutionOf(entry);
    return { ...entry, status: resolution?.status ?? 'unresolved', resolution };
  }

  private *ordered(): Generator<DeadLetterEntry> {
    for (const partition of [...this.partitions.keys()].sort((a, b) => a - b)) {
      yield* this.partitions.get(partition) ?? [];
    }
  }

  private matches(
    entry: DeadLetterEntry,
    filter: { table?: string; reason?: ReasonClass },
  ): boolean {
    if (filter.table !== undefined && entry.table !== filter.table) return false;
    if (filter.reason !== undefined && entry.reasonClass !== filter.reason) return false;
    return true;
  }

  query(q: DeadLetterQuery): DeadLetterPage {
    const wanted = q.status ?? 'unresolved';
    const items: DeadLetterView[] = [];
    let total = 0;
    let more = false;
    for (const entry of this.ordered()) {
      if (!this.matches(entry, q)) continue;
      const view = this.view(entry);
      if (wanted !== 'all' && view.status !== wanted) continue;
      total++;
      if (q.after) {
        const beyond =
          entry.partition > q.after.partition ||
          (entry.partition === q.after.partition &&
            compareOffsets(entry.offset, q.after.offset) > 0);
        if (!beyond) continue;
      }
      if (items.length < q.limit) items.push(view);
      else more = true;
    }
    const last = items[items.length - 1];
    return { total, items, next: more && last ? last.id : null };
  }

  /**
   * The dead letters an operation acts on: explicit ids (each must exist and be unresolved),
   * else every unresolved entry matching the filters; at most `limit`, in offset order.
   */
  select(s: DeadLetterSelection): SelectedLetters {
    const selected: DeadLetterEntry[] = [];
    const skipped: { id: string; why: string }[] = [];
    let remaining = 0;
    if (s.ids && s.ids.length > 0) {
      const seen = new Set<string>();
      for (const raw of s.ids) {
        const parsed = parseDeadLetterId(raw);
        const id = parsed ? deadLetterId(parsed.partition, parsed.offset) : raw;
        if (seen.has(id)) continue;
        seen.add(id);
        const entry = parsed ? this.byId.get(id) : undefined;
        if (!entry) {
          skipped.push({ id, why: 'no such dead letter' });
          continue;
        }
        if (!this.matches(entry, s)) {
          skipped.push({ id, why: 'does not match the table/reason filter' });
          continue;
        }
        const resolution = this.resolutionOf(entry);
        if (resolution) {
          skipped.push({ id, why: `already ${resolution.status} at ${resolution.at}` });
          continue;
        }
        if (selected.length < s.limit) selected.push(entry);
        else remaining++;
      }
      return { selected, skipped, remaining };
    }
    for (const entry of this.ordered()) {
      if (!this.matches(entry, s) || this.resolutionOf(entry)) continue;
      if (selected.length < s.limit) selected.push(entry);
      else remaining++;
    }
    return { selected, skipped, remaining };
  }

  /** Unresolved dead letters, in total and per table (`null` key: no table known). */
  unresolved(): { total: number; byTable: Map<string | null, number> } {
    const byTable = new Map<string | null, number>();
    let total = 0;
    for (const entry of this.byId.values()) {
      if (this.resolutionOf(entry)) continue;
      total++;
      byTable.set(entry.table, (byTable.get(entry.table) ?? 0) + 1);
    }
    return { total, byTable };
  }

  /** Unresolved dead letters per (table, reason class), for the metric. */
  unresolvedByClass(): { table: string; reasonClass: ReasonClass; count: number }[] {
    const counts = new Map<string, { table: string; reasonClass: ReasonClass; count: number }>();
    for (const entry of this.byId.values()) {
      if (this.resolutionOf(entry)) continue;
      const table = entry.table ?? '';
      const key = `${table}\u0000${entry.reasonClass}`;
      const current = counts.get(key) ?? { table, reasonClass: entry.reasonClass, count: 0 };
      current.count++;
      counts.set(key, current);
    }
    return [...counts.values()];
  }
}
