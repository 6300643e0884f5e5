import { AppLogger, type AppLogLevel } from '@searchsync/app-kit';

/**
 * The API's logger: JSON lines through nestjs-pino (app-kit `AppLogger`), `"app":"api"`, at
 * LOG_LEVEL; lines written while a request is served carry its request id.
 */
export class JsonLogger extends AppLogger {
  constructor(level: AppLogLevel = 'log') {
    super({ app: 'api', level });
  }
}
