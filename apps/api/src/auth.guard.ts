import { Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiKeyGuard, Public, type ApiKeyVerifier } from '@searchsync/app-kit';
import type { Principal } from './api-keys';
import { API_KEYS } from './api.tokens';

/** Routes anyone may call (health, metrics). */
export { Public };

/**
 * API keys (API_KEYS) from `Authorization: Bearer` or `X-API-Key`: the shared semantics (401 for
 * no or an unknown key). A key's scope is its tables, checked where the table is known (403,
 * TableAccessDeniedError). Without configured keys everyone is let in: the API then listens on
 * loopback only (`listenApi`).
 */
@Injectable()
export class AuthGuard extends ApiKeyGuard<Principal> {
  constructor(@Inject(API_KEYS) keys: ApiKeyVerifier<Principal>, reflector: Reflector) {
    super(reflector, keys, { header: 'X-API-Key', keyName: 'API key' });
  }

  protected withoutKeys(): boolean {
    return true;
  }
}
