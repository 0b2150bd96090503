/**
 * The engine contract on a real Redis Cluster: the same suite as test/contract/engine.test.ts, so
 * every script the engine runs must keep its keys in one slot (CROSSSLOT would fail it here).
 */

import { engineContract } from '../contract/engine.contract.js';
import { ENGINE_FIXTURES_WITH_CLUSTER } from '../support/engines.js';

engineContract(ENGINE_FIXTURES_WITH_CLUSTER.filter((f) => f.name === 'redis-cluster'));
