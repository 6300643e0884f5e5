import type { Admin } from 'kafkajs';

export interface PartitionOffset {
  partition: number;
  offset: string;
  /** An end: the partition's first offset still kept (records below it are gone). */
  low?: string;
  /** A committed offset: the metadata committed with it (see commit-progress.ts). */
  metadata?: string | null;
}

/**
 * Whether a consumer group has committed every partition up to its end offset. Committed
 * offsets are the next record to read, so `committed >= end` means all records before `end`
 * are applied; an empty partition needs nothing.
 */
export function caughtUp(ends: PartitionOffset[], committed: PartitionOffset[]): boolean {
  return pendingRecords(ends, committed) === 0n;
}

/** How many records below the end offsets the group has not committed yet. */
export function pendingRecords(ends: PartitionOffset[], committed: PartitionOffset[]): bigint {
  let pending = 0n;
  for (const end of ends) {
    const high = BigInt(end.offset);
    const done = committed.find((c) => c.partition === end.partition);
    // -1 (nothing committed yet): everything kept up to the end is still to be applied.
    const from =
      done !== undefined && BigInt(done.offset) >= 0n ? BigInt(done.offset) : BigInt(end.low ?? 0);
    if (high > from) pending += high - from;
  }
  return pending;
}

/** The end offset of every partition of a topic; [] when the topic does not exist. */
export async function topicEnds(admin: Admin, topic: string): Promise<PartitionOffset[]> {
  try {
    return (await admin.fetchTopicOffsets(topic)).map((p) => ({
      partition: p.partition,
      offset: p.high,
      low: p.low,
    }));
  } catch (error) {
    if ((error as { type?: unknown }).type === 'UNKNOWN_TOPIC_OR_PARTITION') return [];
    throw error;
  }
}

/** The group's committed offset of every partition of the topics, by topic. */
export async function groupOffsets(
  admin: Admin,
  groupId: string,
  topics: string[],
): Promise<Map<string, PartitionOffset[]>> {
  const answer = await admin.fetchOffsets({ groupId, topics });
  return new Map(answer.map((t) => [t.topic, t.partitions]));
}

/** A topic as a consumer group stands on it: records still to apply, and its commits. */
export interface TopicProgress {
  pending: bigint;
  committed: PartitionOffset[];
}

/**
 * For each topic that exists: how many records the group has not committed yet, and its
 * committed offsets with their metadata — the one lag computation of the indexer and the admin.
 */
export async function groupProgress(
  admin: Admin,
  groupId: string,
  topics: string[],
): Promise<Map<string, TopicProgress>> {
  const existing = new Set(await admin.listTopics());
  const present = topics.filter((t) => existing.has(t));
  const result = new Map<string, TopicProgress>();
  if (present.length === 0) return result;
  const committed = await groupOffsets(admin, groupId, present);
  await Promise.all(
    present.map(async (topic) => {
      const ends = await topicEnds(admin, topic);
      const partitions = committed.get(topic) ?? [];
      result.set(topic, { pending: pendingRecords(ends, partitions), committed: partitions });
    }),
  );
  return result;
}
