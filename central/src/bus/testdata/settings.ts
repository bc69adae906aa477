// Settings for Bus tests: a silent logger, a private metrics registry, the system clock.
import { tmpdir } from 'node:os';
import { SelfMetrics, silentLogger, systemClock } from '../../../../shared-schemas/src/runtime/index.js';
import type { CentralSettings } from '../../component.js';

export function busSettings(id = 'bus'): CentralSettings & { selfMetrics: SelfMetrics } {
  const selfMetrics = new SelfMetrics();
  return { id, logger: silentLogger(), metrics: selfMetrics.forComponent(id), clock: systemClock, dataDir: tmpdir(), selfMetrics };
}
