export const API_CONFIG = Symbol('API_CONFIG');
export const SEARCH_ENGINE = Symbol('SEARCH_ENGINE');
export const API_KEYS = Symbol('API_KEYS');
