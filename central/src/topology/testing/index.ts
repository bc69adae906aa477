// Test kit of the topology store: the contract suite every implementation runs.
export { runTopologyStoreContract, SHOP } from './store-contract.js';
export type { TopologyStoreContractOptions } from './store-contract.js';
