import type { AdminConfig } from '@searchsync/config';

export const ADMIN_CONFIG = Symbol('ADMIN_CONFIG');
export const CONNECTOR_BACKEND = Symbol('CONNECTOR_BACKEND');
export type { AdminConfig };
