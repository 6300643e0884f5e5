import type { Client } from 'pg';
import { admin, adminTranscript, connectorName } from './support/admin';
import { database, eventually } from './support/stack';

const SECRET = `hunter2-${Date.now().toString(36)}`;
const DEBEZIUM = 'io.debezium.connector.postgresql.PostgresConnector';

interface ConnectorView {
  name: string;
  type: string;
  state: string;
  tasks: { id: number; state: string }[];
}

/**
 * The connector control plane against the real Kafka Connect: apply from the template (with a
 * secret in it), dry-run validation, policy, lifecycle, offsets — and no secret in any answer.
 */
describe('connector admin: connectors', () => {
  const suffix = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;
  const name = `e2e-admin-${suffix}`;
  const slot = `e2e_admin_${suffix}`;
  // A second Debezium connector that captures nothing: its own slot and topic prefix, no data.
  const overrides = {
    'database.password': SECRET,
    'slot.name': slot,
    'slot.drop.on.stop': 'true',
    'topic.prefix': `e2eadmin${suffix}`,
    'schema.include.list': 'e2e_admin_nothing',
    'snapshot.mode': 'when_needed',
  };
  let db: Client;

  beforeAll(async () => {
    db = await database();
  });

  afterAll(async () => {
    await admin('DELETE', `/v1/connectors/${name}`);
    await eventually(
      () => db.query('select active from pg_replication_slots where slot_name = $1', [slot]),
      (r) => r.rowCount === 0 || r.rows[0].active === false,
      { what: 'test slot released', timeoutMs: 30_000 },
    ).catch(() => undefined);
    await db
      .query(
        'select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = $1 and not active',
        [slot],
      )
      .catch(() => undefined);
    await db.end();
  });

  it('lists connectors with their and their tasks’ states', async () => {
    const list = await admin<ConnectorView[]>('GET', '/v1/connectors');
    expect(list.status).toBe(200);
    const ours = list.body.find((c) => c.name === connectorName());
    expect(ours).toMatchObject({ type: 'source', state: 'RUNNING' });
    expect(ours?.tasks).toEqual([expect.objectContaining({ id: 0, state: 'RUNNING' })]);
  });

  it('says what the backend can do', async () => {
    const caps = await admin('GET', '/v1/connectors/capabilities');
    expect(caps.body).toEqual({
      backend: 'kafka-connect',
      capabilities: expect.objectContaining({
        stop: true,
        offsets: true,
        validate: true,
        taskStatus: true,
      }),
    });
  });

  it('dry-run of an invalid config answers 400 with Connect’s messages per key', async () => {
    const dry = await admin<{ errors: { key: string; message: string }[] }>(
      'PUT',
      `/v1/connectors/${name}?dryRun=true`,
      { template: 'debezium-postgres', config: { ...overrides, 'database.port': 'not-a-port' } },
    );
    expect(dry.status).toBe(400);
    expect(dry.body.errors).toContainEqual({
      key: 'database.port',
      message: expect.stringMatching(/integer/i),
    });
    const missing = await admin('GET', `/v1/connectors/${name}`);
    expect(missing.status).toBe(404);

    const validate = await admin('POST', '/v1/connectors/validate', {
      config: { 'connector.class': DEBEZIUM, 'database.port': 'x', 'topic.prefix': 'p' },
    });
    expect(validate.status).toBe(200);
    expect(validate.body).toMatchObject({
      valid: false,
      errors: expect.arrayContaining([expect.objectContaining({ key: 'database.hostname' })]),
    });
  });

  it('dry-run of a valid config validates only', async () => {
    const dry = await admin('PUT', `/v1/connectors/${name}?dryRun=true`, {
      template: 'debezium-postgres',
      config: overrides,
    });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ dryRun: true, valid: true, created: null });
    expect((await admin('GET', `/v1/connectors/${name}`)).status).toBe(404);
  });

  it('refuses client overrides, JAAS, SQL keys not from our template, and unknown classes', async () => {
    const cases: [Record<string, string>, string][] = [
      [
        { 'consumer.override.sasl.jaas.config': 'org.x.Login required password="p";' },
        'consumer.override.sasl.jaas.config',
      ],
      [
        { 'producer.override.bootstrap.servers': 'evil:9092' },
        'producer.override.bootstrap.servers',
      ],
      [{ 'config.providers': 'file' }, 'config.providers'],
      [{ 'heartbeat.action.query': 'DROP TABLE products' }, 'heartbeat.action.query'],
      [{ 'database.initial.statements': 'SET x = 1' }, 'database.initial.statements'],
      [{ 'connector.class': 'org.example.ShellConnector' }, 'connector.class'],
    ];
    for (const [config, key] of cases) {
      const refused = await admin<{ errors: { key: string }[] }>('PUT', `/v1/connectors/${name}`, {
        template: 'debezium-postgres',
        config: { ...overrides, ...config },
      });
      expect(refused.status).toBe(400);
      expect(refused.body.errors.map((e) => e.key)).toContain(key);
    }
    const rawUnknown = await admin('PUT', `/v1/connectors/${name}`, {
      config: { 'connector.class': 'org.example.ShellConnector' },
    });
    expect(rawUnknown.status).toBe(400);
    expect((await admin('GET', `/v1/connectors/${name}`)).status).toBe(404);
  });

  it('applies from the template (create, then idempotent), with the secret redacted', async () => {
    const created = await admin<{
      created: boolean;
      changed: boolean;
      config: Record<string, string>;
    }>('PUT', `/v1/connectors/${name}`, { template: 'debezium-postgres', config: overrides });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ created: true, changed: true });
    expect(created.body.config['database.password']).toBe('********');
    // Our template's own SQL-bearing key passed the policy unchanged.
    expect(created.body.config['heartbeat.action.query']).toMatch(/searchsync_cdc\.heartbeat/);

    const again = await admin('PUT', `/v1/connectors/${name}`, {
      template: 'debezium-postgres',
      config: overrides,
    });
    expect(again.body).toMatchObject({ created: false, changed: false });

    const running = await eventually(
      () =>
        admin<{ status: ConnectorView; config: Record<string, string> }>(
          'GET',
          `/v1/connectors/${name}`,
        ),
      (r) =>
        r.status === 200 &&
        r.body.status.state === 'RUNNING' &&
        r.body.status.tasks[0]?.state === 'RUNNING',
      { what: 'test connector running', timeoutMs: 60_000 },
    );
    expect(running.body.config['database.password']).toBe('********');
    expect(running.body.config['slot.name']).toBe(slot);
  });

  it('pauses, resumes, stops, restarts and reads offsets', async () => {
    const stateOf = async () =>
      (await admin<{ status: ConnectorView }>('GET', `/v1/connectors/${name}`)).body.status;

    expect((await admin('POST', `/v1/connectors/${name}/pause`)).status).toBe(200);
    await eventually(stateOf, (s) => s.state === 'PAUSED', { what: 'paused', timeoutMs: 30_000 });

    expect((await admin('POST', `/v1/connectors/${name}/resume`)).status).toBe(200);
    await eventually(stateOf, (s) => s.state === 'RUNNING', { what: 'resumed', timeoutMs: 30_000 });

    const restart = await admin(
      'POST',
      `/v1/connectors/${name}/restart?includeTasks=true&onlyFailed=false`,
    );
    expect(restart.status).toBe(200);
    await eventually(stateOf, (s) => s.state === 'RUNNING' && s.tasks[0]?.state === 'RUNNING', {
      what: 'running after restart',
      timeoutMs: 60_000,
    });
    expect((await admin('POST', `/v1/connectors/${name}/restart?includeTasks=maybe`)).status).toBe(
      400,
    );

    expect((await admin('POST', `/v1/connectors/${name}/stop`)).status).toBe(200);
    await eventually(stateOf, (s) => s.state === 'STOPPED', { what: 'stopped', timeoutMs: 30_000 });

    const offsets = await admin<{ offsets: { partition: Record<string, unknown> }[] }>(
      'GET',
      `/v1/connectors/${name}/offsets`,
    );
    expect(offsets.status).toBe(200);
    expect(Array.isArray(offsets.body.offsets)).toBe(true);

    const main = await admin<{
      offsets: { partition: Record<string, unknown>; offset: Record<string, unknown> }[];
    }>('GET', `/v1/connectors/${connectorName()}/offsets`);
    expect(main.body.offsets[0]).toMatchObject({
      partition: { server: 'searchsync' },
      offset: { lsn: expect.any(Number) },
    });
  });

  it('answers 404 for an unknown connector and deletes idempotently from the caller’s view', async () => {
    const unknown = await admin('POST', '/v1/connectors/no-such-connector/pause');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
    expect((await admin('DELETE', `/v1/connectors/${name}`)).status).toBe(204);
    expect((await admin('GET', `/v1/connectors/${name}`)).status).toBe(404);
  });

  it('never returned the secret in any answer', () => {
    expect(adminTranscript.length).toBeGreaterThan(10);
    for (const text of adminTranscript) expect(text).not.toContain(SECRET);
  });
});
