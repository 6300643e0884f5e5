import { Body, Controller, Get, Logger, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { DestinationStream } from 'pino';
import { AppLogger, createLogRoot, requestLogging } from './app-logger';

type Line = Record<string, unknown>;

/** A destination that keeps every line, parsed. */
function memory(): DestinationStream & { lines: Line[] } {
  const lines: Line[] = [];
  return { lines, write: (line: string) => void lines.push(JSON.parse(line) as Line) };
}

describe('createLogRoot', () => {
  it('writes JSON lines with an ISO time, the level by name and the app', () => {
    const out = memory();
    createLogRoot({ app: 'api', level: 'log', stream: out }).info('started');
    expect(out.lines).toEqual([
      {
        level: 'info',
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
        app: 'api',
        msg: 'started',
      },
    ]);
  });

  it('honours LOG_LEVEL, Nest names mapped to pino levels', () => {
    const levels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
    const written = (level: 'error' | 'warn' | 'log' | 'debug' | 'verbose' | 'silent') => {
      const out = memory();
      const log = createLogRoot({ app: 'x', level, stream: out });
      for (const name of levels) log[name](name);
      return out.lines.map((line) => line.level);
    };
    expect(written('error')).toEqual(['error', 'fatal']);
    expect(written('warn')).toEqual(['warn', 'error', 'fatal']);
    expect(written('log')).toEqual(['info', 'warn', 'error', 'fatal']);
    expect(written('debug')).toEqual(['debug', 'info', 'warn', 'error', 'fatal']);
    expect(written('verbose')).toEqual([...levels]);
    expect(written('silent')).toEqual([]);
  });

  it('redacts messages, fields, printf arguments and errors in every line, children included', () => {
    const out = memory();
    const log = createLogRoot({ app: 'x', level: 'log', stream: out });
    log.info('connecting to postgres://app:hunter2@db/app');
    log.warn({ url: 'http://u:p@h', password: 'p' }, 'calling %s', 'http://u:p@h');
    log.child({ requestId: 'r1' }).error(new Error('refused: token=abc'));
    log.error({ err: new Error('boom, secret=s') });
    const text = JSON.stringify(out.lines);
    expect(text).not.toMatch(/hunter2|u:p@|"p"|token=abc|secret=s\b/);
    expect(out.lines[0].msg).toBe('connecting to postgres://***@db/app');
    expect(out.lines[1]).toMatchObject({
      url: 'http://***@h',
      password: '********',
      msg: 'calling http://***@h',
    });
    expect(out.lines[2]).toMatchObject({
      requestId: 'r1',
      msg: 'refused: token=********',
      err: { type: 'Error', message: 'refused: token=********' },
    });
    expect(out.lines[3].msg).toBe('boom, secret=********');
  });
});

@Controller()
class ProbeController {
  private readonly logger = new Logger('Probe');

  @Get('work')
  work(): { ok: true } {
    this.logger.log('working with http://u:p@engine:9200');
    return { ok: true };
  }

  @Post('echo')
  echo(@Body() body: unknown): unknown {
    this.logger.warn('echoing');
    return body;
  }

  @Get('health')
  health(): string {
    return 'ok';
  }
}

@Module({ controllers: [ProbeController] })
class ProbeModule {}

describe('AppLogger and requestLogging in a Nest app', () => {
  let app: NestExpressApplication;
  let url: string;
  const out = memory();

  beforeAll(async () => {
    const logger = new AppLogger({ app: 'probe', level: 'log', stream: out });
    app = await NestFactory.create<NestExpressApplication>(ProbeModule, { logger });
    app.use(requestLogging(logger.root));
    await app.listen(0, '127.0.0.1');
    url = await app.getUrl();
  });

  afterAll(() => app.close());

  const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

  it('logs Nest start-up lines as JSON with their context', () => {
    expect(out.lines).toContainEqual(
      expect.objectContaining({ level: 'info', app: 'probe', context: 'NestApplication' }),
    );
  });

  it("keeps the caller's request id, echoes it and puts it on every line of the request", async () => {
    out.lines.length = 0;
    const response = await fetch(`${url}/work`, { headers: { 'x-request-id': 'req-42' } });
    expect(response.headers.get('x-request-id')).toBe('req-42');
    await settle();
    expect(out.lines).toEqual([
      expect.objectContaining({
        requestId: 'req-42',
        context: 'Probe',
        msg: 'working with http://***@engine:9200',
      }),
      expect.objectContaining({
        level: 'info',
        requestId: 'req-42',
        msg: 'request',
        method: 'GET',
        route: '/work',
        status: 200,
        durationMs: expect.any(Number),
      }),
    ]);
  });

  it('makes up an id when none or a malformed one is sent', async () => {
    out.lines.length = 0;
    const response = await fetch(`${url}/work`, { headers: { 'x-request-id': 'bad id' } });
    const id = response.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await settle();
    expect(out.lines.every((line) => line.requestId === id)).toBe(true);
  });

  it('logs a request the body parser refuses, and the request of a POST body', async () => {
    out.lines.length = 0;
    const bad = await fetch(`${url}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"unclosed',
    });
    expect(bad.status).toBe(400);
    const good = await fetch(`${url}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'post-1' },
      body: JSON.stringify({ a: 'x'.repeat(50_000) }),
    });
    expect(good.status).toBe(201);
    await settle();
    expect(out.lines).toContainEqual(
      expect.objectContaining({ msg: 'request', method: 'POST', status: 400 }),
    );
    expect(out.lines).toContainEqual(
      expect.objectContaining({ msg: 'echoing', requestId: 'post-1', context: 'Probe' }),
    );
  });

  it('logs probes at debug only, and unknown paths as unmatched', async () => {
    out.lines.length = 0;
    await fetch(`${url}/health`);
    await fetch(`${url}/no/such/path?token=abc`);
    await settle();
    expect(out.lines.filter((line) => line.msg === 'request')).toEqual([
      expect.objectContaining({ route: 'unmatched', status: 404 }),
    ]);
    expect(JSON.stringify(out.lines)).not.toContain('abc');
  });
});
