// Replay options, validated before any file is read.

import { REPLAY_DETECTORS } from './detectors.js';
import { ReplayInputError } from './nab-csv.js';

export interface ReplayOptions {
  /** Detector name, a key of REPLAY_DETECTORS. */
  detector: string;
  /** Folder holding NAB-format CSVs (searched recursively). */
  dataDir: string;
  /** Results go to `<outDir>/<detector>/<category>/<detector>_<name>.csv`. */
  outDir: string;
  /** Largest input file accepted, in bytes. */
  maxFileBytes: number;
}

export function validateReplayOptions(o: Partial<ReplayOptions>): ReplayOptions {
  if (!o.detector || !(o.detector in REPLAY_DETECTORS)) {
    throw new ReplayInputError(
      'UNKNOWN_DETECTOR',
      `--detector must be one of ${Object.keys(REPLAY_DETECTORS).join(', ')} (got ${JSON.stringify(o.detector)})`,
    );
  }
  if (!o.dataDir) throw new ReplayInputError('BAD_OPTION', '--data must name a folder of NAB-format CSV files');
  if (!o.outDir) throw new ReplayInputError('BAD_OPTION', '--out must name an output folder');
  const maxFileBytes = o.maxFileBytes ?? 256 * 1024 * 1024;
  if (!Number.isInteger(maxFileBytes) || maxFileBytes <= 0) {
    throw new ReplayInputError('BAD_OPTION', `--max-file-bytes must be a positive integer (got ${maxFileBytes})`);
  }
  return { detector: o.detector, dataDir: o.dataDir, outDir: o.outDir, maxFileBytes };
}
