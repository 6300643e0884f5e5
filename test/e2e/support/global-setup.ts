import { stackUrls } from './stack';

/** Fails fast, with the fix, when the suite runs without a stack. */
export default async function globalSetup(): Promise<void> {
  const { api } = stackUrls();
  try {
    const response = await fetch(`${api}/health`, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) throw new Error(`status ${response.status}`);
  } catch (error) {
    throw new Error(
      `the stack is not reachable at ${api} (${(error as Error).message}): run the suite with ./searchsync test, or start the stack with ./searchsync up`,
    );
  }
}
