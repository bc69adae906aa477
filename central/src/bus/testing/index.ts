// Test kit of the Bus: the contract suite both implementations run.
export { runBusContract } from './bus-contract.js';
export type { BusContractOptions } from './bus-contract.js';
