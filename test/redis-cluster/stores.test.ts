/**
 * The job and webhook store contracts on a real Redis Cluster: every job write, record and lease
 * script must keep its keys in one slot.
 */
import { jobStoreContract } from '../jobs/job-store.contract.js';
import { ENGINE_FIXTURES_WITH_CLUSTER } from '../support/engines.js';

jobStoreContract(ENGINE_FIXTURES_WITH_CLUSTER.filter((f) => f.name === 'redis-cluster'));
