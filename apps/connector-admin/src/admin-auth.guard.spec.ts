import type { ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import type { AdminConfig } from '@searchsync/config';
import { AdminAuthGuard, isLoopbackHost } from './admin-auth.guard';
import { AdminUnauthorizedError } from './admin.errors';

function context(remoteAddress: string, headers: Record<string, string> = {}): ExecutionContext {
  return {
    getHandler: () => undefined,
    getClass: () => undefined,
    switchToHttp: () => ({ getRequest: () => ({ socket: { remoteAddress }, headers }) }),
  } as unknown as ExecutionContext;
}

const reflector = { getAllAndOverride: () => false } as unknown as Reflector;
const guard = (keys: string[]) =>
  new AdminAuthGuard({ ADMIN_API_KEYS: keys } as unknown as AdminConfig, reflector);

describe('AdminAuthGuard', () => {
  it('without keys serves loopback clients only', () => {
    expect(guard([]).canActivate(context('127.0.0.1'))).toBe(true);
    expect(guard([]).canActivate(context('::ffff:127.0.0.1'))).toBe(true);
    expect(() => guard([]).canActivate(context('10.1.2.3'))).toThrow(AdminUnauthorizedError);
  });

  it('with keys wants one of them, from any address', () => {
    const g = guard(['admin-key-1']);
    expect(g.canActivate(context('10.1.2.3', { authorization: 'Bearer admin-key-1' }))).toBe(true);
    expect(g.canActivate(context('10.1.2.3', { 'x-admin-key': 'admin-key-1' }))).toBe(true);
    expect(() => g.canActivate(context('127.0.0.1'))).toThrow(/admin key required/);
    expect(() => g.canActivate(context('127.0.0.1', { authorization: 'Bearer api-key' }))).toThrow(
      /not accepted/,
    );
  });

  it('knows loopback addresses', () => {
    expect(['127.0.0.1', '::1', 'localhost'].every(isLoopbackHost)).toBe(true);
    expect(['0.0.0.0', '10.0.0.1', '::'].some(isLoopbackHost)).toBe(false);
  });
});
