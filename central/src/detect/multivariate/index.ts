// Public surface of Tier-3's multivariate model (issue #7, Deliver 3): a linear autoencoder over
// a service's metrics as an ONNX graph, its TypeScript reference and its training (PCA).
export { bundleWidth, checkMultivariateBundle, checkMultivariateParams, MAX_BUNDLE_SERVICES, MULTIVARIATE_OUTPUTS, multivariateGraph, multivariateReference } from './model.js';
export type { MultivariateBundle, MultivariateParams } from './model.js';
export { fitMultivariate } from './train.js';
export type { MultivariateTrainOptions } from './train.js';
