import type { SearchsyncConfig, ViewConfig } from '@searchsync/config';
import {
  buildView,
  planView,
  readViewCatalog,
  viewTables,
  type ViewDocumentResult,
} from '@searchsync/document-views';
import { canonicalJson, viewIndexNames, type SearchEngine } from '@searchsync/search-engine';
import type { Pool } from 'pg';
import { finishVerify, startVerify, type VerifyResult } from './verify-result';

/** Top-level fields whose values differ between the two documents (where to look first). */
function differingFields(expected: Record<string, unknown>, found: Record<string, unknown>) {
  const fields = new Set([...Object.keys(expected), ...Object.keys(found)]);
  return [...fields].filter((f) => canonicalJson(expected[f]) !== canonicalJson(found[f]));
}

/**
 * Verify of a document view: every root row's document as the view computes it in PostgreSQL
 * now (the very reads the indexer writes from, page by page in key order) against the view's
 * index, then every document of the index against the root rows. Memory: the root ids seen
 * (for the second pass) and one page of documents.
 */
export async function verifyView(
  engine: SearchEngine,
  pool: Pool,
  view: ViewConfig,
  config: SearchsyncConfig,
  indexPrefix: string,
  limit: number,
): Promise<VerifyResult> {
  const began = Date.now();
  const alias = viewIndexNames(indexPrefix, view.name).alias;
  const client = await pool.connect();
  let plan;
  try {
    plan = planView(view, await readViewCatalog(client, viewTables(view)), {
      config,
    });
  } finally {
    client.release();
  }
  const documents = await engine.count(alias).catch(() => 0);
  const { result, note } = startVerify(view.name, documents, limit);
  const roots = new Set<string>();
  await buildView(plan, pool, async (results: ViewDocumentResult[]) => {
    const present = results.filter((r) => !r.deleted);
    result.rows += present.length;
    const ids = present.map((r) => r.id);
    for (const id of ids) roots.add(id);
    const found = await documentsById(engine, alias, documents > 0 ? ids : []);
    for (const computed of present) {
      const stored = found.get(computed.id);
      if (!stored) {
        note('missing', computed.id);
        continue;
      }
      // A root whose document cannot be computed (its value fails conversion) is mismatched.
      const expected = 'error' in computed ? {} : computed.document;
      const fields = differingFields(expected, stored);
      if (fields.length === 0 && !('error' in computed)) continue;
      note('mismatched', computed.id);
      for (const field of fields) {
        result.mismatchedColumns[field] = (result.mismatchedColumns[field] ?? 0) + 1;
      }
    }
  });
  if (documents > 0) {
    for await (const hits of engine.scanDocuments(alias, 1000)) {
      for (const hit of hits) if (!roots.has(hit.id)) note('extra', hit.id);
    }
  }
  return finishVerify(result, began);
}

/** The documents of these ids in the index behind `alias`, by id. */
export async function documentsById(
  engine: Pick<SearchEngine, 'search'>,
  alias: string,
  ids: string[],
): Promise<Map<string, Record<string, unknown>>> {
  if (ids.length === 0) return new Map();
  const response = await engine.search(alias, {
    query: { ids: { values: ids } },
    size: ids.length,
  });
  return new Map(response.hits.map((hit) => [hit.id, hit.source]));
}
