import type { Request } from 'express';

/** Whoever a request authenticated as; `name` is what logs show (never the key). */
export interface KeyPrincipal {
  readonly name: string;
}

const PRINCIPAL = Symbol('searchsync.principal');

type WithPrincipal = Request & { [PRINCIPAL]?: KeyPrincipal };

export function setPrincipal(req: Request, principal: KeyPrincipal): void {
  (req as WithPrincipal)[PRINCIPAL] = principal;
}

/** The principal the API-key guard accepted for this request, if any. */
export function principalOf<P extends KeyPrincipal = KeyPrincipal>(req: Request): P | undefined {
  return (req as WithPrincipal)[PRINCIPAL] as P | undefined;
}
