import {
  Inject,
  Injectable,
  SetMetadata,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { UnauthenticatedError } from './api.errors';
import type { ApiKeyRegistry } from './api-keys';
import { API_KEYS } from './api.tokens';
import { requestContextOf } from './request-context';

const PUBLIC = 'searchsync:public';
/** Routes anyone may call (health, metrics). */
export const Public = () => SetMetadata(PUBLIC, true);

function presentedKey(req: Request): string | undefined {
  const header = req.header('x-api-key');
  if (header !== undefined) return header.trim();
  const authorization = req.header('authorization');
  if (authorization === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  return match ? match[1] : '';
}

/** API keys from `Authorization: Bearer` or `X-API-Key`; without configured keys everyone is let in. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    @Inject(API_KEYS) private readonly keys: ApiKeyRegistry,
    private readonly reflector: Reflector,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (!this.keys.enabled) return true;
    if (
      this.reflector.getAllAndOverride<boolean>(PUBLIC, [context.getHandler(), context.getClass()])
    )
      return true;
    const req = context.switchToHttp().getRequest<Request>();
    const key = presentedKey(req);
    if (key === undefined) throw new UnauthenticatedError('an API key is required');
    const principal = this.keys.authenticate(key);
    if (!principal) throw new UnauthenticatedError('the API key is not valid');
    requestContextOf(req).principal = principal;
    return true;
  }
}
