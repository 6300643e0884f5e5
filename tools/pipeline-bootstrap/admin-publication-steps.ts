import type { PublicationSteps } from '@searchsync/pipeline-bootstrap';
// The connector admin owns the publication and the column exclusions: the bootstrap (docker
// compose, the Helm Job, the local stack) prepares them with the admin's own code, so that the
// first start and every later reconcile pass agree.
import { withColumnExclusions } from '../../apps/connector-admin/src/column-exclusions';
import {
  holdConfiguredTables,
  reconcilePublication,
} from '../../apps/connector-admin/src/publication-manager';

export const ADMIN_PUBLICATION_STEPS: PublicationSteps = {
  holdConfiguredTables,
  reconcilePublication,
  withColumnExclusions,
};
