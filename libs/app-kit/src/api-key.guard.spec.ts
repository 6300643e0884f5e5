import { timingSafeEqual } from 'node:crypto';
import type { ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import {
  ApiKeyGuard,
  ApiKeyVerifier,
  isLoopbackHost,
  presentedKey,
  sha256Hex,
} from './api-key.guard';
import { ApiKeyForbiddenError, ApiKeyUnauthenticatedError } from './http.errors';
import { principalOf, type KeyPrincipal } from './request-principal';

jest.mock('node:crypto', () => {
  const actual = jest.requireActual<typeof import('node:crypto')>('node:crypto');
  return { ...actual, timingSafeEqual: jest.fn(actual.timingSafeEqual) };
});

interface Reader extends KeyPrincipal {
  scopes: string[];
}

const keys = (...secrets: [string, string[]][]) =>
  new ApiKeyVerifier<Reader>(
    secrets.map(([secret, scopes], i) => ({
      sha256: sha256Hex(secret),
      principal: { name: `key-${i + 1}`, scopes },
    })),
  );

/** A guard whose scope is named by the route (the handler's name here). */
class ScopedGuard extends ApiKeyGuard<Reader> {
  constructor(verifier: ApiKeyVerifier<Reader>, isPublic = false) {
    super({ getAllAndOverride: () => isPublic } as unknown as Reflector, verifier, {
      header: 'X-App-Key',
      keyName: 'app key',
    });
  }
  protected withoutKeys(): boolean {
    return true;
  }
  protected override permits(principal: Reader, context: ExecutionContext): boolean {
    return principal.scopes.includes(context.getHandler().name);
  }
}

function call(guard: ApiKeyGuard<Reader>, headers: Record<string, string>, scope = 'read') {
  const req = { headers } as unknown as Request;
  const handler = { [scope]: () => undefined }[scope];
  const context = {
    getHandler: () => handler,
    getClass: () => ScopedGuard,
    switchToHttp: () => ({ getRequest: () => req }),
  } as unknown as ExecutionContext;
  return { allowed: () => guard.canActivate(context), req };
}

function refusal(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('not refused');
}

describe('ApiKeyVerifier', () => {
  it('knows its keys by SHA-256 only, either case of hex', () => {
    const verifier = new ApiKeyVerifier([
      { sha256: sha256Hex('s3cret').toUpperCase(), principal: { name: 'ops' } },
    ]);
    expect(verifier.enabled).toBe(true);
    expect(verifier.verify('s3cret')).toEqual({ name: 'ops' });
    expect(verifier.verify('s3cret ')).toBeUndefined();
    expect(verifier.verify('')).toBeUndefined();
    expect(verifier.verify('x'.repeat(513))).toBeUndefined();
    expect(new ApiKeyVerifier([]).enabled).toBe(false);
    expect(() => new ApiKeyVerifier([{ sha256: 'abc', principal: { name: 'bad' } }])).toThrow(
      /bad: not a SHA-256/,
    );
  });

  it('compares with every key in constant time, also after a match', () => {
    const verifier = keys(['a', []], ['b', []], ['c', []]);
    const compare = jest.mocked(timingSafeEqual);
    compare.mockClear();
    expect(verifier.verify('a')?.name).toBe('key-1');
    expect(compare).toHaveBeenCalledTimes(3);
    compare.mockClear();
    expect(verifier.verify('nope')).toBeUndefined();
    expect(compare).toHaveBeenCalledTimes(3);
  });
});

describe('presentedKey', () => {
  const req = (headers: Record<string, string>) => ({ headers }) as unknown as Request;
  it("takes the app's header first, then Authorization: Bearer", () => {
    expect(presentedKey(req({ 'x-api-key': ' k1 ' }), 'X-API-Key')).toBe('k1');
    expect(presentedKey(req({ authorization: 'bearer   k2 ' }), 'X-API-Key')).toBe('k2');
    expect(presentedKey(req({ 'x-api-key': 'k1', authorization: 'Bearer k2' }), 'X-API-Key')).toBe(
      'k1',
    );
    // Another scheme presents a key that is no key; no header presents none.
    expect(presentedKey(req({ authorization: 'Basic k3' }), 'X-API-Key')).toBe('');
    expect(presentedKey(req({}), 'X-API-Key')).toBeUndefined();
  });
});

describe('ApiKeyGuard', () => {
  const guard = new ScopedGuard(keys(['reader-secret', ['read']], ['writer-secret', ['write']]));

  it('answers 401 with WWW-Authenticate for no key and for an unknown one', () => {
    const none = refusal(call(guard, {}).allowed);
    expect(none).toBeInstanceOf(ApiKeyUnauthenticatedError);
    expect(none).toMatchObject({
      statusCode: 401,
      headers: { 'WWW-Authenticate': 'Bearer' },
      message: 'an app key is required; send "Authorization: Bearer <key>" or "X-App-Key: <key>"',
    });
    const unknown: Record<string, string>[] = [
      { authorization: 'Bearer wrong' },
      { authorization: 'Basic reader-secret' },
      { 'x-app-key': 'reader-secretx' },
    ];
    for (const headers of unknown) {
      expect(refusal(call(guard, headers).allowed)).toMatchObject({
        statusCode: 401,
        message: expect.stringMatching(/^the app key is not valid/),
      });
    }
  });

  it('answers 403 for a known key without the scope, and keeps the principal of an accepted one', () => {
    expect(refusal(call(guard, { 'x-app-key': 'writer-secret' }).allowed)).toEqual(
      new ApiKeyForbiddenError('app key "key-2" may not do this'),
    );
    const accepted = call(guard, { authorization: 'Bearer reader-secret' });
    expect(accepted.allowed()).toBe(true);
    expect(principalOf(accepted.req)).toEqual({ name: 'key-1', scopes: ['read'] });
  });

  it('lets public routes and, without keys, what the app allows', () => {
    expect(call(new ScopedGuard(keys(['k', []]), true), {}).allowed()).toBe(true);
    expect(call(new ScopedGuard(keys()), {}).allowed()).toBe(true);
  });
});

describe('isLoopbackHost', () => {
  it('knows the addresses only this machine reaches', () => {
    expect(
      ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1', 'localhost'].every(isLoopbackHost),
    ).toBe(true);
    expect(
      ['0.0.0.0', '10.0.0.1', '::', '::ffff:10.0.0.1', 'example.com'].some(isLoopbackHost),
    ).toBe(false);
  });
});
