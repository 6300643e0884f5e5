import { timingSafeEqual } from 'node:crypto';
import {
  Inject,
  Injectable,
  SetMetadata,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { ADMIN_CONFIG, type AdminConfig } from './admin-config';
import { AdminUnauthorizedError } from './admin.errors';

export const PUBLIC_ROUTE = 'searchsync:public';
/** Routes anyone who reaches the port may call: health, metrics, the status page shell. */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || LOOPBACK.test(host);
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Admin keys (ADMIN_API_KEYS) — never the search API's keys. Without keys configured, only
 * loopback clients are served (and main.ts refuses to listen on anything but loopback).
 */
@Injectable()
export class AdminAuthGuard implements CanActivate {
  constructor(
    @Inject(ADMIN_CONFIG) private readonly config: AdminConfig,
    private readonly reflector: Reflector,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (
      this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, [
        context.getHandler(),
        context.getClass(),
      ])
    ) {
      return true;
    }
    const request = context.switchToHttp().getRequest<Request>();
    const keys = this.config.ADMIN_API_KEYS;
    if (keys.length === 0) {
      if (isLoopbackHost(request.socket.remoteAddress ?? '')) return true;
      throw new AdminUnauthorizedError(
        'no admin keys are configured: the admin serves loopback clients only',
        403,
      );
    }
    const header = request.headers.authorization;
    const given =
      (header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined) ??
      (request.headers['x-admin-key'] as string | undefined);
    if (!given)
      throw new AdminUnauthorizedError(
        'admin key required (Authorization: Bearer <key> or X-Admin-Key)',
        401,
      );
    if (!keys.some((key) => sameSecret(given, key)))
      throw new AdminUnauthorizedError('admin key not accepted', 403);
    return true;
  }
}
