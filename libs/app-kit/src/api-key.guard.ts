import { createHash, timingSafeEqual } from 'node:crypto';
import { SetMetadata, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { ApiKeyForbiddenError, ApiKeyUnauthenticatedError } from './http.errors';
import { setPrincipal, type KeyPrincipal } from './request-principal';

export const PUBLIC_ROUTE = 'searchsync:public';
/** Routes anyone who reaches the port may call: health, metrics, a status page's shell. */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);

export function sha256Hex(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** A configured key: the SHA-256 of its secret (never the secret) and who it stands for. */
export interface HashedApiKey<P extends KeyPrincipal> {
  sha256: string;
  principal: P;
}

/** Longer keys are refused unhashed: nobody configures them, and hashing them costs. */
const MAX_KEY_LENGTH = 512;

/**
 * The keys of one app, held as SHA-256 digests. A presented key is hashed and compared with
 * every configured digest in constant time, so neither a match nor its position shows in the
 * answer's timing.
 */
export class ApiKeyVerifier<P extends KeyPrincipal> {
  private readonly keys: { digest: Buffer; principal: P }[];

  constructor(keys: HashedApiKey<P>[]) {
    this.keys = keys.map((key) => ({
      digest: Buffer.from(key.sha256.toLowerCase(), 'hex'),
      principal: key.principal,
    }));
    const malformed = this.keys.findIndex((key) => key.digest.length !== 32);
    if (malformed >= 0) {
      throw new TypeError(`API key ${keys[malformed].principal.name}: not a SHA-256 hex digest`);
    }
  }

  get enabled(): boolean {
    return this.keys.length > 0;
  }

  /** Who a presented key is, or undefined when it is not one of ours. */
  verify(presented: string): P | undefined {
    if (presented.length === 0 || presented.length > MAX_KEY_LENGTH) return undefined;
    const digest = createHash('sha256').update(presented, 'utf8').digest();
    let found: P | undefined;
    for (const key of this.keys) {
      // Every key is compared, also after a match.
      if (timingSafeEqual(digest, key.digest) && found === undefined) found = key.principal;
    }
    return found;
  }
}

/**
 * The key a request presents: the app's own header (`X-API-Key`, `X-Admin-Key`) when sent, else
 * `Authorization: Bearer <key>`; an Authorization header of another scheme presents an invalid
 * key (''), no header at all none (undefined).
 */
export function presentedKey(req: Request, header: string): string | undefined {
  const own = req.headers[header.toLowerCase()];
  if (typeof own === 'string') return own.trim();
  const authorization = req.headers.authorization;
  if (authorization === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  return match ? match[1] : '';
}

export interface ApiKeyGuardOptions {
  /** The app's own key header, e.g. `X-API-Key`. */
  header: string;
  /** What the key is called in answers: `API key`, `admin key`. */
  keyName: string;
}

/**
 * API-key semantics shared by the apps: public routes pass; no key or an unknown key is 401
 * (`WWW-Authenticate: Bearer`); a known key without the scope the route needs is 403. An app
 * supplies its keys, what happens without any configured (`withoutKeys`) and its scope check
 * (`permits`); the accepted principal is kept on the request (`principalOf`).
 */
export abstract class ApiKeyGuard<P extends KeyPrincipal> implements CanActivate {
  protected constructor(
    private readonly reflector: Reflector,
    private readonly verifier: ApiKeyVerifier<P>,
    private readonly options: ApiKeyGuardOptions,
  ) {}

  /** Without configured keys: whether this request may pass (or an error to throw). */
  protected abstract withoutKeys(req: Request): boolean;

  /** Whether a known key may do what this request asks; `false` answers 403. */
  protected permits(_principal: P, _context: ExecutionContext): boolean {
    return true;
  }

  canActivate(context: ExecutionContext): boolean {
    if (
      this.reflector.getAllAndOverride<boolean | undefined>(PUBLIC_ROUTE, [
        context.getHandler(),
        context.getClass(),
      ])
    ) {
      return true;
    }
    const req = context.switchToHttp().getRequest<Request>();
    if (!this.verifier.enabled) return this.withoutKeys(req);
    const { header, keyName } = this.options;
    const send = `send "Authorization: Bearer <key>" or "${header}: <key>"`;
    const key = presentedKey(req, header);
    if (key === undefined)
      throw new ApiKeyUnauthenticatedError(`an ${keyName} is required; ${send}`);
    const principal = this.verifier.verify(key);
    if (!principal) throw new ApiKeyUnauthenticatedError(`the ${keyName} is not valid; ${send}`);
    if (!this.permits(principal, context)) {
      throw new ApiKeyForbiddenError(`${keyName} "${principal.name}" may not do this`);
    }
    setPrincipal(req, principal);
    return true;
  }
}

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

/** `localhost`, 127.0.0.0/8, `::1` and IPv4-mapped 127.x: addresses only this machine reaches. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || LOOPBACK.test(host);
}
