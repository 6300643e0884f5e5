import { Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  ApiKeyForbiddenError,
  ApiKeyGuard,
  ApiKeyVerifier,
  isLoopbackHost,
  Public,
  sha256Hex,
  type KeyPrincipal,
} from '@searchsync/app-kit';
import type { Request } from 'express';
import { ADMIN_CONFIG, type AdminConfig } from './admin-config';

/** Routes anyone who reaches the port may call: health, metrics, the status page shell. */
export { isLoopbackHost, Public };

/**
 * Admin keys (ADMIN_API_KEYS) — never the search API's keys — with the API's semantics (app-kit):
 * 401 for no or an unknown key, hashed at start and compared in constant time. Every admin key
 * may do everything. Without keys configured only loopback clients are served (403 for others),
 * and main.ts refuses to listen on anything but loopback.
 */
@Injectable()
export class AdminAuthGuard extends ApiKeyGuard<KeyPrincipal> {
  constructor(@Inject(ADMIN_CONFIG) config: AdminConfig, reflector: Reflector) {
    super(
      reflector,
      new ApiKeyVerifier(
        // Keys are named by position: the secret itself is never shown, not even in logs.
        config.ADMIN_API_KEYS.map((key, index) => ({
          sha256: sha256Hex(key),
          principal: { name: `admin-key-${index + 1}` },
        })),
      ),
      { header: 'X-Admin-Key', keyName: 'admin key' },
    );
  }

  protected withoutKeys(req: Request): boolean {
    if (isLoopbackHost(req.socket.remoteAddress ?? '')) return true;
    throw new ApiKeyForbiddenError(
      'no admin keys are configured: the admin serves loopback clients only',
    );
  }
}
