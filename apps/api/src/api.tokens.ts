export const API_CONFIG = Symbol('API_CONFIG');
export const SEARCH_ENGINE = Symbol('SEARCH_ENGINE');
export const API_KEYS = Symbol('API_KEYS');
/** The `SearchsyncConfigWatcher` of searchsync.yaml; read `current()` when answering. */
export const TABLE_CONFIG = Symbol('TABLE_CONFIG');
