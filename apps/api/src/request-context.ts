import { principalOf } from '@searchsync/app-kit';
import type { Request } from 'express';
import { ANONYMOUS, type Principal } from './api-keys';

export interface RequestContext {
  /** The request id of the logs and of `X-Request-Id` (app-kit `requestLogging`). */
  requestId: string;
  principal: Principal;
}

/** Who a request is (the auth guard's principal, else anonymous) and its request id. */
export function requestContextOf(req: Request): RequestContext {
  return {
    requestId: typeof req.id === 'string' || typeof req.id === 'number' ? String(req.id) : 'none',
    principal: principalOf<Principal>(req) ?? ANONYMOUS,
  };
}
