import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { redactText, type ConnectorBackend, type ConnectorView } from '@searchsync/connect-client';
import { BackoffSchedule } from '@searchsync/retry';
import { ADMIN_CONFIG, CONNECTOR_BACKEND, type AdminConfig } from './admin-config';
import { AdminMetrics } from './admin-metrics';

export type HealEventKind =
  'failure-detected' | 'restart-requested' | 'restart-failed' | 'recovered' | 'gave-up';

export interface HealEvent {
  at: string;
  connector: string;
  /** Task id, or null for the connector itself. */
  task: number | null;
  kind: HealEventKind;
  attempt: number;
  message: string;
}

interface Patient {
  attempts: number;
  /** The waits between its restarts: the house backoff from ADMIN_HEAL_BACKOFF_MS, capped. */
  backoff: BackoffSchedule;
  failedSince: number;
  nextAttemptAt: number;
  gaveUp: boolean;
  lastRestartAt: number | null;
}

const EVENTS_KEPT = 100;

/**
 * Watches connector and task states; restarts what FAILED at once, then with exponential backoff
 * (jittered, so that tasks failing together are not restarted together) up to a cap, records
 * every step, and gives up loudly after ADMIN_HEAL_MAX_ATTEMPTS.
 */
@Injectable()
export class HealerService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(HealerService.name);
  private readonly patients = new Map<string, Patient>();
  private readonly events = new Map<string, HealEvent[]>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private lastError: string | null = null;

  constructor(
    @Inject(ADMIN_CONFIG) private readonly config: AdminConfig,
    @Inject(CONNECTOR_BACKEND) private readonly backend: ConnectorBackend,
    private readonly metrics: AdminMetrics,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      if (!this.running) this.running = this.check().finally(() => (this.running = null));
    }, this.config.ADMIN_HEAL_INTERVAL_MS);
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  eventsOf(connector: string): HealEvent[] {
    return [...(this.events.get(connector) ?? [])].reverse();
  }

  /** Connectors/tasks the healer stopped trying to restart. */
  gaveUp(): string[] {
    return [...this.patients.entries()].filter(([, p]) => p.gaveUp).map(([key]) => key);
  }

  private record(event: Omit<HealEvent, 'at'>): void {
    const list = this.events.get(event.connector) ?? [];
    list.push({ at: new Date().toISOString(), ...event, message: redactText(event.message) });
    if (list.length > EVENTS_KEPT) list.splice(0, list.length - EVENTS_KEPT);
    this.events.set(event.connector, list);
    this.metrics.healEvents.inc({ connector: event.connector, kind: event.kind });
    const line = `${event.connector}${event.task === null ? '' : ` task ${event.task}`}: ${event.kind} (attempt ${event.attempt}) ${event.message}`;
    if (event.kind === 'gave-up') this.logger.error(`GAVE UP healing ${redactText(line)}`);
    else this.logger.warn(redactText(line));
  }

  /** One pass: look at every connector, restart what is due. */
  async check(now = Date.now()): Promise<void> {
    let connectors: ConnectorView[];
    try {
      connectors = await this.backend.list();
      this.lastError = null;
    } catch (error) {
      const message = (error as Error).message;
      if (message !== this.lastError) this.logger.warn(`healer cannot list connectors: ${message}`);
      this.lastError = message;
      return;
    }
    const seen = new Set<string>();
    for (const connector of connectors) {
      const units: { task: number | null; state: string; trace?: string }[] = [
        { task: null, state: connector.state, trace: connector.trace },
        ...connector.tasks.map((t) => ({ task: t.id, state: t.state, trace: t.trace })),
      ];
      for (const unit of units) {
        const key = `${connector.name}#${unit.task ?? 'connector'}`;
        seen.add(key);
        await this.visit(connector.name, key, unit, now);
      }
    }
    for (const key of this.patients.keys()) if (!seen.has(key)) this.patients.delete(key);
  }

  private async visit(
    connector: string,
    key: string,
    unit: { task: number | null; state: string; trace?: string },
    now: number,
  ): Promise<void> {
    const patient = this.patients.get(key);
    if (unit.state !== 'FAILED') {
      if (patient && unit.state === 'RUNNING') {
        this.record({
          connector,
          task: unit.task,
          kind: 'recovered',
          attempt: patient.attempts,
          message: `RUNNING again after ${Math.round((now - patient.failedSince) / 1000)}s and ${patient.attempts} restart(s)`,
        });
        this.patients.delete(key);
      }
      return;
    }
    if (!patient) {
      const fresh: Patient = {
        attempts: 0,
        backoff: new BackoffSchedule({
          initialDelayMs: this.config.ADMIN_HEAL_BACKOFF_MS,
          maxDelayMs: this.config.ADMIN_HEAL_BACKOFF_MAX_MS,
        }),
        failedSince: now,
        nextAttemptAt: now,
        gaveUp: false,
        lastRestartAt: null,
      };
      this.patients.set(key, fresh);
      this.record({
        connector,
        task: unit.task,
        kind: 'failure-detected',
        attempt: 0,
        message: unit.trace ?? 'FAILED',
      });
      return this.maybeRestart(connector, unit.task, fresh, now, unit.trace);
    }
    return this.maybeRestart(connector, unit.task, patient, now, unit.trace);
  }

  private async maybeRestart(
    connector: string,
    task: number | null,
    patient: Patient,
    now: number,
    trace: string | undefined,
  ): Promise<void> {
    if (patient.gaveUp || now < patient.nextAttemptAt) return;
    if (patient.attempts >= this.config.ADMIN_HEAL_MAX_ATTEMPTS) {
      patient.gaveUp = true;
      this.metrics.healGaveUp.set({ connector }, 1);
      this.record({
        connector,
        task,
        kind: 'gave-up',
        attempt: patient.attempts,
        message: `still FAILED after ${patient.attempts} restarts; a human is needed: ${trace ?? ''}`,
      });
      return;
    }
    patient.attempts += 1;
    patient.lastRestartAt = now;
    patient.nextAttemptAt = now + patient.backoff.next();
    try {
      if (task === null || !this.backend.capabilities.restartTasks) {
        await this.backend.restart(connector, { includeTasks: true, onlyFailed: true });
      } else {
        await this.backend.restartTask(connector, task);
      }
      this.metrics.healRestarts.inc({ connector });
      this.record({
        connector,
        task,
        kind: 'restart-requested',
        attempt: patient.attempts,
        message: `next attempt not before ${new Date(patient.nextAttemptAt).toISOString()}`,
      });
    } catch (error) {
      this.record({
        connector,
        task,
        kind: 'restart-failed',
        attempt: patient.attempts,
        message: (error as Error).message,
      });
    }
  }
}
