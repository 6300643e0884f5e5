import { REBUILD_TARGETS_MAX_AGE_MS, type SearchEngine } from '@searchsync/search-engine';

/**
 * Which tables are being rebuilt, i.e. where each change must also be written: the building
 * aliases of new index generations, by live alias. Looked up at the start of a batch when older
 * than the maximum age the admin's rebuild relies on (REBUILD_TARGETS_MAX_AGE_MS), so a batch
 * fetched after a generation was created always writes to it.
 */
export class RebuildTargets {
  private targets = new Map<string, string[]>();
  /** When the lookup in use was sent (not answered: the conservative end). */
  private lookedUpAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly engine: Pick<SearchEngine, 'generations'>,
    private readonly indexPrefix: string,
    private readonly maxAgeMs = REBUILD_TARGETS_MAX_AGE_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * Looks the targets up again when the last lookup is too old; throws engine errors as they
   * are. Returns the building aliases that vanished since the last lookup (their mapping
   * knowledge is void: a later generation may reuse nothing of them).
   */
  async refreshIfStale(): Promise<string[]> {
    const sentAt = this.now();
    if (sentAt - this.lookedUpAt < this.maxAgeMs) return [];
    const next = await this.engine.generations.buildingTargets(this.indexPrefix);
    const current = new Set([...next.values()].flat());
    const vanished = [...this.targets.values()].flat().filter((target) => !current.has(target));
    this.targets = next;
    this.lookedUpAt = sentAt;
    return vanished;
  }

  /** Building aliases of the table behind `alias` (usually none). */
  buildingFor(alias: string): readonly string[] {
    return this.targets.get(alias) ?? [];
  }

  /** A building alias found gone (the rebuild ended or was abandoned): stop writing to it. */
  forget(building: string): void {
    for (const [alias, list] of this.targets) {
      const rest = list.filter((target) => target !== building);
      if (rest.length === list.length) continue;
      if (rest.length === 0) this.targets.delete(alias);
      else this.targets.set(alias, rest);
    }
  }
}
