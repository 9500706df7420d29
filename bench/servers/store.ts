import { startEmbeddedStore } from '../../src/local/embedded-store';
import { announceReady, exitWithParent } from './child-protocol';

/**
 * The embedded DynamoDB-protocol store (dynalite, in memory) alone in its
 * process, so the in-process measurements count Tollgate's CPU and not the
 * store's, as in AWS where the store is someone else's machine.
 */
const store = await startEmbeddedStore();
announceReady({ endpoint: store.endpoint });
exitWithParent(() => store.close());
