import type { ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import { sha256Hex } from '@searchsync/app-kit';
import type { Request } from 'express';
import { apiKeyVerifier, canRead } from './api-keys';
import { AuthGuard } from './auth.guard';
import { requestContextOf } from './request-context';

const READER = 'reader-secret-0123456789';
const keys = apiKeyVerifier([{ name: 'reader', sha256: sha256Hex(READER), tables: ['products'] }]);

function attempt(headers: Record<string, string>, verifier = keys, isPublic = false) {
  const req = { headers } as unknown as Request;
  const guard = new AuthGuard(verifier, {
    getAllAndOverride: () => isPublic,
  } as unknown as Reflector);
  const context = {
    getHandler: () => undefined,
    getClass: () => undefined,
    switchToHttp: () => ({ getRequest: () => req }),
  } as unknown as ExecutionContext;
  let outcome: unknown;
  try {
    outcome = guard.canActivate(context);
  } catch (error) {
    outcome = error;
  }
  return { outcome, req };
}

describe('AuthGuard', () => {
  it('answers 401 with WWW-Authenticate for no key, an unknown key or another scheme', () => {
    expect(attempt({}).outcome).toMatchObject({
      statusCode: 401,
      headers: { 'WWW-Authenticate': 'Bearer' },
      message: 'an API key is required; send "Authorization: Bearer <key>" or "X-API-Key: <key>"',
    });
    const unknown: Record<string, string>[] = [
      { authorization: 'Bearer wrong' },
      { authorization: `Basic ${READER}` },
      { 'x-api-key': `${READER}x` },
    ];
    for (const headers of unknown) {
      expect(attempt(headers).outcome).toMatchObject({
        statusCode: 401,
        message: expect.stringMatching(/^the API key is not valid; send/),
      });
    }
  });

  it('accepts a key by Bearer or X-API-Key, and the request is then that key with its tables', () => {
    const accepted: Record<string, string>[] = [
      { authorization: `Bearer ${READER}` },
      { 'x-api-key': READER },
    ];
    for (const headers of accepted) {
      const { outcome, req } = attempt(headers);
      expect(outcome).toBe(true);
      const { principal } = requestContextOf(req);
      expect(principal.name).toBe('reader');
      expect(canRead(principal, 'public.products')).toBe(true);
      expect(canRead(principal, 'orders')).toBe(false);
    }
  });

  it('lets everyone in without keys (loopback only), and anyone to public routes', () => {
    const open = attempt({}, apiKeyVerifier([]));
    expect(open.outcome).toBe(true);
    expect(requestContextOf(open.req).principal.name).toBe('anonymous');
    expect(attempt({}, keys, true).outcome).toBe(true);
  });
});
