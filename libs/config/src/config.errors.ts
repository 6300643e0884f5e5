/** Raised at boot when the environment does not describe a runnable app. */
export class ConfigInvalidError extends Error {
  readonly retryable = false;
  constructor(readonly problems: string[]) {
    super(`Invalid environment variables: ${problems.join('; ')}`);
    this.name = 'ConfigInvalidError';
  }
}
