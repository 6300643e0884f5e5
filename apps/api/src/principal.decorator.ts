import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import type { Principal } from './api-keys';
import { requestContextOf } from './request-context';

/** The caller, as the auth guard identified it. */
export const CurrentPrincipal = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Principal =>
    requestContextOf(context.switchToHttp().getRequest<Request>()).principal,
);
