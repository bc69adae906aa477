// The JSON documents of a run: the topology (shared-schemas TopologyDocument, what
// `PUT /api/v1/config/topology` accepts), the ground truth and the change log.
import type { GroundTruth, TopologyDocument } from '../model/index.js';
import type { ChangeEvent } from '../metrics/index.js';
import { jsonText, writeText } from './format.js';

export async function writeTopologyJson(path: string, topology: TopologyDocument): Promise<void> {
  await writeText(path, jsonText(topology));
}

export async function writeGroundTruthJson(path: string, truth: GroundTruth): Promise<void> {
  await writeText(path, jsonText(truth));
}

/** The change log (deploys, rollbacks, config changes): what a platform's change feed would carry. */
export async function writeChangesJson(path: string, changes: readonly ChangeEvent[]): Promise<void> {
  await writeText(path, jsonText(changes));
}
