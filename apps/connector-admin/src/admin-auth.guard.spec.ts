import type { ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import { ApiKeyForbiddenError, ApiKeyUnauthenticatedError, principalOf } from '@searchsync/app-kit';
import type { AdminConfig } from '@searchsync/config';
import { AdminAuthGuard, isLoopbackHost } from './admin-auth.guard';

function request(remoteAddress: string, headers: Record<string, string> = {}) {
  return { socket: { remoteAddress }, headers };
}

function context(req: ReturnType<typeof request>, isPublic = false) {
  return {
    reflector: { getAllAndOverride: () => isPublic } as unknown as Reflector,
    context: {
      getHandler: () => undefined,
      getClass: () => undefined,
      switchToHttp: () => ({ getRequest: () => req }),
    } as unknown as ExecutionContext,
  };
}

function check(keys: string[], req: ReturnType<typeof request>, isPublic = false): boolean {
  const { reflector, context: ctx } = context(req, isPublic);
  return new AdminAuthGuard(
    { ADMIN_API_KEYS: keys } as unknown as AdminConfig,
    reflector,
  ).canActivate(ctx);
}

describe('AdminAuthGuard', () => {
  it('without keys serves loopback clients only (403 for others)', () => {
    expect(check([], request('127.0.0.1'))).toBe(true);
    expect(check([], request('::ffff:127.0.0.1'))).toBe(true);
    expect(() => check([], request('10.1.2.3'))).toThrow(ApiKeyForbiddenError);
  });

  it('with keys wants one of them, from any address, and names the key it accepted', () => {
    const bearer = request('10.1.2.3', { authorization: 'Bearer admin-key-b' });
    expect(check(['admin-key-a', 'admin-key-b'], bearer)).toBe(true);
    expect(principalOf(bearer as never)).toEqual({ name: 'admin-key-2' });
    expect(check(['admin-key-a'], request('10.1.2.3', { 'x-admin-key': 'admin-key-a' }))).toBe(
      true,
    );
  });

  it('answers 401 for no key and for an unknown one, as the API does', () => {
    expect(() => check(['admin-key-a'], request('127.0.0.1'))).toThrow(/admin key is required/);
    const unknown: Record<string, string>[] = [
      { authorization: 'Bearer api-key' },
      { authorization: 'Basic admin-key-a' },
      { 'x-admin-key': 'admin-key-ax' },
    ];
    for (const headers of unknown) {
      expect(() => check(['admin-key-a'], request('127.0.0.1', headers))).toThrow(
        ApiKeyUnauthenticatedError,
      );
    }
    let refused: unknown;
    try {
      check(['admin-key-a'], request('127.0.0.1', { authorization: 'Bearer nope' }));
    } catch (error) {
      refused = error;
    }
    expect(refused).toMatchObject({
      statusCode: 401,
      headers: { 'WWW-Authenticate': 'Bearer' },
      message: expect.stringMatching(/admin key is not valid; send .*X-Admin-Key/),
    });
  });

  it('lets anyone call public routes', () => {
    expect(check(['admin-key-a'], request('10.1.2.3'), true)).toBe(true);
    expect(check([], request('10.1.2.3'), true)).toBe(true);
  });

  it('knows loopback addresses', () => {
    expect(['127.0.0.1', '::1', 'localhost'].every(isLoopbackHost)).toBe(true);
    expect(['0.0.0.0', '10.0.0.1', '::'].some(isLoopbackHost)).toBe(false);
  });
});
