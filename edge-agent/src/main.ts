// aiops-agent: the host agent's command line.
//   aiops-agent --config /etc/aiops-agent/agent.yaml
//   aiops-agent --check-config agent.yaml              validate the whole config, exit 0 or 2
//                                                       (or --check-config --config agent.yaml)
//   aiops-agent --print-config agent.yaml              the resolved config (defaults applied, secrets hidden)
//   aiops-agent --version
//
// With `agent.enrollment` configured, the agent first obtains its own credentials from central
// (or reads them from the credentials file) and only then builds the pipeline: every component
// gets the secret in settings.agent.secret, and the enrolled id and tenant (enrollment/enroll.ts).
// --check-config validates the section and the credentials file without enrolling.

import { Command } from 'commander';
import { stringify } from 'yaml';
import { systemClock } from './component.js';
import { buildRegistry } from './components.js';
import type { AgentAssets } from './components.js';
import { readConfigFile, resolveConfig } from './config/config.js';
import type { AgentConfig } from './config/config.js';
import { AgentService } from './service/service.js';
import { checkEnrollment, ensureCredentials } from './enrollment/index.js';
import type { EnsuredCredentials } from './enrollment/index.js';
import { createLogger, hideSecrets } from '../../shared-schemas/src/runtime/index.js';
import type { Logger } from '../../shared-schemas/src/runtime/index.js';
import { SelfMetrics } from '../../shared-schemas/src/runtime/index.js';
import { StatusServer } from './telemetry/status-server.js';
import { agentVersion } from './version.js';

const SECRET_KEY = /pass(word)?|secret|token|private|^key$|_key$|authorization/i;

/** The resolved config as plain data, secrets replaced. */
export function printableConfig(cfg: AgentConfig): Record<string, unknown> {
  const hide = (v: unknown) => hideSecrets(v, SECRET_KEY);
  const section = (kind: string) =>
    Object.fromEntries([...cfg.components.values()].filter((c) => c.kind === kind).map((c) => [c.id, hide(c.config)]));
  const { id, tenant, dataDir, enrollment } = cfg.agent;
  return {
    agent: { id, tenant, dataDir, ...(enrollment !== undefined ? { enrollment: hide(enrollment) } : {}) },
    telemetry: cfg.telemetry,
    features: cfg.features,
    receivers: section('receiver'),
    processors: section('processor'),
    exporters: section('exporter'),
    pipelines: { metrics: cfg.pipeline },
  };
}

export interface MainIo {
  out(s: string): void;
  err(s: string): void;
  env: NodeJS.ProcessEnv;
}

/** Runs the CLI; resolves with the exit code once the agent has stopped (or at once for checks). */
export async function main(argv: string[], io: MainIo, assets: AgentAssets = {}): Promise<number> {
  const program = new Command()
    .name('aiops-agent')
    .description('AIOps edge agent: collects host metrics, scrapes, OTLP, remote-write and logs; scores every series with Tier-1; sends 10 s feature frames to central over MQTT or gRPC.')
    .option('-c, --config <file>', 'YAML configuration file (see deploy/agent.example.yaml)')
    .option('--check-config [file]', 'validate the whole configuration (of <file>, or of --config) and exit (0 valid, 2 invalid)')
    .option('--print-config [file]', 'print the resolved configuration (of <file>, or of --config; defaults applied, secrets hidden) and exit')
    .version(agentVersion(), '-v, --version', 'print the version and exit')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError();
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    const code = (e as { exitCode?: number }).exitCode;
    return code ?? 2;
  }
  const o = program.opts<{ config?: string; checkConfig?: boolean | string; printConfig?: boolean | string }>();
  // `--check-config <file>` and `--print-config <file>` name the file themselves.
  const named = [o.checkConfig, o.printConfig].filter((v): v is string => typeof v === 'string');
  for (const f of named) {
    if (o.config !== undefined && o.config !== f) {
      io.err(`aiops-agent: two config files named (--config ${o.config} and ${f}); name one\n`);
      return 2;
    }
    o.config = f;
  }
  if (!o.config) {
    io.err('aiops-agent: --config <file> is required (see deploy/agent.example.yaml)\n');
    return 2;
  }
  const registry = buildRegistry(assets);
  let cfg: AgentConfig;
  try {
    cfg = resolveConfig(readConfigFile(o.config), registry, io.env);
  } catch (e) {
    io.err(`aiops-agent: ${(e as Error).message}\n`);
    return 2;
  }
  if (o.checkConfig) {
    let enrollment = '';
    if (cfg.agent.enrollment !== undefined) {
      try {
        enrollment = `; ${await checkEnrollment(cfg.agent.enrollment, cfg.agent)}`;
      } catch (e) {
        io.err(`aiops-agent: ${(e as Error).message}\n`);
        return 2;
      }
    }
    io.out(
      `configuration OK: agent "${cfg.agent.id}" (tenant ${cfg.agent.tenant}); ${cfg.pipeline.receivers.length} receiver(s), ` +
        `${cfg.pipeline.processors.length} processor(s), ${cfg.pipeline.exporters.length} exporter(s)${enrollment}\n`,
    );
    return 0;
  }
  if (o.printConfig) {
    io.out(stringify(printableConfig(cfg)));
    return 0;
  }
  return runAgent(cfg, assets);
}

/**
 * Runs enrollment when `agent.enrollment` is configured (enrollment/enroll.ts): the config with
 * the credentials' agent id and tenant, and the secret for ServiceOptions.agentSecret. Without
 * the section, the config as it is. Throws EnrollmentError (code ABORTED when `signal` fired).
 */
export async function withCredentials(cfg: AgentConfig, logger: Logger, signal?: AbortSignal): Promise<{ cfg: AgentConfig; agentSecret?: string }> {
  if (cfg.agent.enrollment === undefined) return { cfg };
  const creds: EnsuredCredentials = await ensureCredentials({ config: cfg.agent.enrollment, agent: cfg.agent, logger, ...(signal ? { signal } : {}), userAgent: `aiops-agent/${agentVersion()}` });
  return { cfg: { ...cfg, agent: { ...cfg.agent, id: creds.agentId, tenant: creds.tenant } }, agentSecret: creds.secret };
}

async function runAgent(cfg: AgentConfig, _assets: AgentAssets): Promise<number> {
  const logger = createLogger(cfg.telemetry.logLevel);
  const metrics = new SelfMetrics();
  metrics.collectProcessMetrics();
  const unhandled = metrics.forComponent('process').counter('aiops_agent_unhandled_rejections_total', 'Promise rejections no component handled (a bug: please report).');
  process.on('unhandledRejection', (reason) => {
    unhandled.inc();
    logger.error({ err: reason instanceof Error ? reason.message : String(reason) }, 'unhandled promise rejection');
  });
  let agentSecret: string | undefined;
  if (cfg.agent.enrollment !== undefined) {
    // SIGINT/SIGTERM while waiting for central stop the retries (the service is not built yet).
    const ac = new AbortController();
    const abort = (): void => ac.abort();
    process.once('SIGINT', abort);
    process.once('SIGTERM', abort);
    try {
      ({ cfg, agentSecret } = await withCredentials(cfg, logger, ac.signal));
    } catch (e) {
      const err = e as Error & { code?: string };
      if (err.code === 'ABORTED') {
        logger.info('stopped during enrollment');
        return 0;
      }
      logger.fatal({ err: err.message, code: err.code }, 'cannot obtain agent credentials');
      return 1;
    } finally {
      process.off('SIGINT', abort);
      process.off('SIGTERM', abort);
    }
  }
  let service: AgentService;
  try {
    service = new AgentService(cfg, { logger, metrics, clock: systemClock, ...(agentSecret !== undefined ? { agentSecret } : {}) });
  } catch (e) {
    logger.fatal({ err: (e as Error).message }, 'cannot build the pipeline');
    return 1;
  }
  const status = cfg.telemetry.listen ? new StatusServer({ listen: cfg.telemetry.listen, metrics, health: () => service.health() }) : undefined;
  let stopping: Promise<void> | undefined;
  const stop = (signal: string): Promise<void> =>
    (stopping ??= (async () => {
      logger.info({ signal }, 'stopping');
      await service.shutdown();
      await status?.shutdown();
    })());
  const done = new Promise<number>((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void stop(sig).then(() => resolve(0)));
  });
  try {
    await status?.start();
    await service.start();
  } catch (e) {
    logger.fatal({ err: (e as Error).message }, 'agent failed to start');
    await stop('start-failure');
    return 1;
  }
  if (status?.address) logger.info({ listen: `${status.address.host}:${status.address.port}` }, 'self-metrics at /metrics, health at /healthz');
  return done;
}
