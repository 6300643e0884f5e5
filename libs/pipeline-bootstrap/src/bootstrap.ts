import type { SearchsyncConfig } from '@searchsync/config';
import type { BootstrapSettings } from './bootstrap-settings';
import { registerConnector } from './connector-registration';
import { prepareDatabase } from './database-setup';
import type { PublicationSteps } from './publication-steps';
import { configureSingleNodeSearch } from './search-engine-setup';

/**
 * The whole bootstrap, in order: PostgreSQL (schemas, demo table, signal and heartbeat tables,
 * publication, DDL trigger), the search engine's single-node defaults when asked, then the
 * connector — unless someone else owns it. The local stack runs the same steps one by one,
 * around the processes it starts.
 */
export async function bootstrapPipeline(
  settings: BootstrapSettings,
  tableConfig: SearchsyncConfig,
  steps: PublicationSteps,
  say: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  await prepareDatabase(
    {
      databaseUrl: settings.databaseUrl,
      schemas: settings.schemas,
      publication: settings.publication,
      ddlTrigger: settings.ddlTrigger,
      demo: settings.demo,
      tableConfig,
    },
    steps,
    say,
  );
  if (settings.singleNodeSearch) await configureSingleNodeSearch(settings.singleNodeSearch, say);
  if (!settings.connector) {
    say('connector registration skipped (SEARCHSYNC_REGISTER_CONNECTOR=false)');
    return;
  }
  await registerConnector(
    {
      databaseUrl: settings.databaseUrl,
      connector: settings.connector,
      schemas: settings.schemas,
      publication: settings.publication,
      tableConfig,
      env,
    },
    steps,
    say,
  );
}
