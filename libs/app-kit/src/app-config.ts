import type { FactoryProvider, InjectionToken } from '@nestjs/common';
import { loadConfig } from '@searchsync/config';
import type { z } from 'zod';

const loaded = new WeakMap<z.ZodType, unknown>();

/**
 * The app's configuration: the environment validated against its schema once, then the very same
 * (frozen) object for main.ts and every provider. A bad environment throws ConfigInvalidError
 * ("Invalid environment variables: …", each variable and what is wrong) at the first call — the
 * start-up.
 */
export function loadAppConfig<S extends z.ZodType>(schema: S): Readonly<z.infer<S>> {
  if (!loaded.has(schema)) {
    loaded.set(schema, Object.freeze(loadConfig(schema, process.env)));
  }
  return loaded.get(schema) as z.infer<S>;
}

/** Tests only: the next `loadAppConfig(schema)` reads the environment again. */
export function forgetAppConfig(schema: z.ZodType): void {
  loaded.delete(schema);
}

/** A provider of the app's configuration under its token (the same object as `loadAppConfig`). */
export function appConfigProvider<S extends z.ZodType>(
  token: InjectionToken,
  schema: S,
): FactoryProvider<Readonly<z.infer<S>>> {
  return { provide: token, useFactory: () => loadAppConfig(schema) };
}
