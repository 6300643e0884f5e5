export const REDACTED = '********';

const SECRET_KEY =
  /(password|passwd|secret|credential|token|sasl\.jaas\.config|api[._-]?key|private[._-]?key|access[._-]?key|keystore\.key|session[._-]?key)/i;

/** True for config keys whose values must never be shown. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** A copy of a connector config with every secret value replaced. */
export function redactConfig(config: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(config).map(([key, value]) => [
      key,
      isSecretKey(key) ? REDACTED : redactText(String(value)),
    ]),
  );
}

/** Removes `key=value` / `"key":"value"` secrets from free text such as error messages. */
export function redactText(text: string): string {
  return text
    .replace(
      /("[^"]*(?:password|passwd|secret|token|jaas|credential|api[._-]?key)[^"]*"\s*:\s*)"(?:[^"\\]|\\.)*"/gi,
      `$1"${REDACTED}"`,
    )
    .replace(
      /((?:password|passwd|secret|token)\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&"}]+)/gi,
      `$1${REDACTED}`,
    )
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:)[^@\s]+@/gi, `$1${REDACTED}@`);
}
