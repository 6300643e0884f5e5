import { ConfigInvalidError } from '@searchsync/config';
import { runApp } from './run-app';

describe('runApp', () => {
  async function failedStart(error: Error): Promise<Record<string, unknown>[]> {
    const lines: string[] = [];
    const write = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    const exited = new Promise<number | string | null | undefined>((resolve) => {
      jest.spyOn(process, 'exit').mockImplementation((code) => {
        resolve(code);
        return undefined as never;
      });
    });
    try {
      runApp('thing', () => Promise.reject(error));
      expect(await exited).toBe(1);
    } finally {
      write.mockRestore();
      jest.restoreAllMocks();
    }
    return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  it('reports an invalid environment as one fatal line on stderr naming the problems, and exits 1', async () => {
    const lines = await failedStart(new ConfigInvalidError(['API_PORT: Too big']));
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'fatal',
        app: 'thing',
        problems: ['API_PORT: Too big'],
        msg: 'Invalid environment variables: API_PORT: Too big',
      }),
    ]);
  });

  it('reports any other failure with its error, redacted', async () => {
    const [line] = await failedStart(new Error('cannot reach postgres://app:pw@db/app'));
    expect(line).toMatchObject({
      level: 'fatal',
      msg: 'start-up failed: cannot reach postgres://***@db/app',
      err: { type: 'Error', stack: expect.stringContaining('postgres://***@db/app') },
    });
  });
});
