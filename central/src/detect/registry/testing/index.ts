// Test kit of the model registry: the contract suite every artifact store runs.
export { runArtifactStoreContract } from './store-contract.js';
export type { ArtifactStoreContractOptions } from './store-contract.js';
