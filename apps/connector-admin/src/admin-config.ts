import { appConfigProvider } from '@searchsync/app-kit';
import { adminEnvSchema, type AdminConfig, type SearchsyncConfigWatcher } from '@searchsync/config';

export const ADMIN_CONFIG = Symbol('ADMIN_CONFIG');
export const CONNECTOR_BACKEND = Symbol('CONNECTOR_BACKEND');
/** The table configuration (searchsync.yaml), one watcher for the whole admin. */
export const TABLE_CONFIG = Symbol('TABLE_CONFIG');
export type { AdminConfig, SearchsyncConfigWatcher };

/** The admin's configuration, validated once (the object main.ts checked before listening). */
export const adminConfigProvider = appConfigProvider(ADMIN_CONFIG, adminEnvSchema);
