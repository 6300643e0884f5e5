import type { Request } from 'express';

/**
 * The route a request matched (`/v1/tables/:table/search`), or `unmatched`: one label for every
 * unknown path, so hostile URLs cannot grow the metric series or the log vocabulary.
 */
export function routeOf(req: Request): string {
  const routePath = (req.route as { path?: unknown } | undefined)?.path;
  return typeof routePath === 'string' ? `${req.baseUrl}${routePath}` : 'unmatched';
}
