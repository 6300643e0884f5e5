import { createHash } from 'node:crypto';
import { resolve } from 'node:path';

/** Where the local stack keeps its state, logs and downloaded jars. */
export class StackPaths {
  readonly root: string;
  readonly stack: string;
  readonly logs: string;
  readonly run: string;
  readonly jars: string;
  readonly stateFile: string;
  readonly supervisorPidFile: string;
  /** Marks every process we start (in its environment), so `down` finds exactly ours. */
  readonly marker: string;

  constructor(root = resolve(__dirname, '..', '..', '..')) {
    this.root = root;
    this.stack = resolve(root, '.stack');
    this.logs = resolve(this.stack, 'logs');
    this.run = resolve(this.stack, 'run');
    this.jars = resolve(this.stack, 'jars');
    this.stateFile = resolve(this.stack, 'state.json');
    this.supervisorPidFile = resolve(this.run, 'supervisor.pid');
    this.marker = createHash('sha256').update(root).digest('hex').slice(0, 16);
  }

  log(name: string): string {
    return resolve(this.logs, `${name}.log`);
  }

  data(name: string): string {
    return resolve(this.stack, 'data', name);
  }
}
