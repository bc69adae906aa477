// Test and benchmark helper: a whole central in this process on a private data folder, its
// REST API on a free loopback port, MQTT and gRPC off unless the config says otherwise, quiet.
// `key` creates an API key; `stop` shuts central down and removes the folder.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SelfMetrics, silentLogger, systemClock } from '../../../../shared-schemas/src/runtime/index.js';
import { resolveCentralConfig } from '../../config/config.js';
import type { ApiKeyScope } from '../../storage/index.js';
import { CentralService } from '../service.js';

export interface TestCentral {
  central: CentralService;
  /** http://127.0.0.1:<port> */
  api: string;
  /** Its data folder's parent (removed by stop). */
  dir: string;
  key(name: string, scopes: ApiKeyScope[], tenant?: string): Promise<{ token: string; id: string }>;
  stop(): Promise<void>;
}

/** Starts central with `config` over the test defaults (`api` is merged, the rest replaced). */
export async function startTestCentral(config: Record<string, unknown> = {}, prefix = 'aiops-central-test-'): Promise<TestCentral> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const { api: apiConfig, ...rest } = config as { api?: Record<string, unknown> };
  const cfg = resolveCentralConfig({ data_dir: join(dir, 'data'), log_level: 'silent', mqtt: { mode: 'off' }, grpc: { enabled: false }, ...rest, api: { listen: '127.0.0.1:0', ...apiConfig } });
  const central = new CentralService(cfg, { logger: silentLogger(), metrics: new SelfMetrics(), clock: systemClock });
  try {
    await central.start();
  } catch (err) {
    await central.shutdown().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    central,
    api: central.endpoints().api!,
    dir,
    key: async (name, scopes, tenant = 'default') => {
      const k = await central.stores.apiKeys.create({ name, tenant, scopes }, Date.now());
      return { token: k.token, id: k.record.id };
    },
    stop: async () => {
      await central.shutdown();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
