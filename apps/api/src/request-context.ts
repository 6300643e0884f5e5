import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { ANONYMOUS, type Principal } from './api-keys';

export interface RequestContext {
  requestId: string;
  principal: Principal;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** The context of the request being served (for log lines), if any. */
export function currentRequest(): RequestContext | undefined {
  return storage.getStore();
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** Gives every request an id (the caller's `X-Request-Id` when well-formed), echoed back. */
export function requestContextMiddleware(req: Request, res: Response, next: NextFunction): void {
  const given = req.header('x-request-id');
  const requestId = given && REQUEST_ID.test(given) ? given : randomUUID();
  res.setHeader('X-Request-Id', requestId);
  const context: RequestContext = { requestId, principal: ANONYMOUS };
  (req as Request & { context?: RequestContext }).context = context;
  storage.run(context, next);
}

export function requestContextOf(req: Request): RequestContext {
  const context = (req as Request & { context?: RequestContext }).context;
  return context ?? { requestId: 'none', principal: ANONYMOUS };
}
