/**
 * The JobStore and WebhookStore contracts, held against every engine (job-store.contract.ts).
 */
import { ENGINE_FIXTURES } from '../support/engines.js';
import { jobStoreContract } from './job-store.contract.js';

jobStoreContract(ENGINE_FIXTURES);
