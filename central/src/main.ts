// aiops-central: central's command line.
//   aiops-central --config central.yaml                 run (roles from the config, default all)
//   aiops-central --role ingest,api                     override the roles
//   aiops-central --check-config --config central.yaml  validate the whole config, exit 0 or 2
//   aiops-central --print-config                        the resolved config (defaults applied, secrets hidden)
//   aiops-central --version
import { Command } from 'commander';
import { stringify } from 'yaml';
import { createLogger, hideSecrets, SelfMetrics, systemClock } from '../../shared-schemas/src/runtime/index.js';
import { CENTRAL_ROLES, CentralConfigError, loadCentralConfig } from './config/config.js';
import type { CentralConfig, CentralRole } from './config/config.js';
import { CentralService } from './service/service.js';
import { centralVersion } from './service/version.js';

export interface MainIo {
  out(s: string): void;
  err(s: string): void;
  env: NodeJS.ProcessEnv;
  /** Called once central is up, with where it listens (the quickstart prints it). */
  onReady?(service: CentralService): void;
}

/** The resolved config as plain data, secret-named values replaced. */
export function printableCentralConfig(cfg: CentralConfig): unknown {
  return hideSecrets(cfg);
}

export async function centralMain(argv: string[], io: MainIo): Promise<number> {
  const program = new Command()
    .name('aiops-central')
    .description('AIOps central: ingest over MQTT, gRPC and REST; storage; anomalies to alerts; the REST API.')
    .option('-c, --config <file>', 'YAML configuration file (see deploy/central.example.yaml); AIOPS_CENTRAL__SECTION__KEY variables fill unset keys')
    .option('--role <roles>', `comma-separated roles to run: ${CENTRAL_ROLES.join(', ')} (default: the config's, "all")`)
    .option('--check-config', 'validate the whole configuration and exit (0 valid, 2 invalid)')
    .option('--print-config', 'print the resolved configuration (defaults applied, secrets hidden) and exit')
    .version(centralVersion(), '-v, --version', 'print the version and exit')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError();
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    return (e as { exitCode?: number }).exitCode ?? 2;
  }
  const o = program.opts<{ config?: string; role?: string; checkConfig?: boolean; printConfig?: boolean }>();
  let cfg: CentralConfig;
  try {
    const roles = o.role?.split(',').map((r) => r.trim());
    const bad = (roles ?? []).filter((r) => !(CENTRAL_ROLES as readonly string[]).includes(r));
    if (bad.length > 0) throw new CentralConfigError([{ path: '--role', message: `unknown role ${bad.map((b) => JSON.stringify(b)).join(', ')} (roles: ${CENTRAL_ROLES.join(', ')})` }]);
    cfg = loadCentralConfig(o.config, io.env);
    if (roles !== undefined) cfg = { ...cfg, role: roles as CentralRole[] };
    CentralService.checkRoles(cfg.role, cfg.bus.kind);
  } catch (e) {
    io.err(`aiops-central: ${(e as Error).message}\n`);
    return 2;
  }
  if (o.checkConfig) {
    io.out(`configuration OK: roles ${cfg.role.join(',')}; API on ${cfg.api.listen}; data in ${cfg.data_dir}\n`);
    return 0;
  }
  if (o.printConfig) {
    io.out(stringify(printableCentralConfig(cfg)));
    return 0;
  }
  const logger = createLogger(cfg.log_level, undefined, 'aiops-central');
  const metrics = new SelfMetrics();
  metrics.collectProcessMetrics();
  const unhandled = metrics.forComponent('process').counter('aiops_central_unhandled_rejections_total', 'Promise rejections no component handled (a bug: please report).');
  const onUnhandled = (reason: unknown) => {
    unhandled.inc();
    logger.error({ err: reason instanceof Error ? reason.message : String(reason) }, 'unhandled promise rejection');
  };
  process.on('unhandledRejection', onUnhandled);
  let service: CentralService;
  try {
    service = new CentralService(cfg, { logger, metrics, clock: systemClock });
  } catch (e) {
    logger.fatal({ err: (e as Error).message }, 'cannot build central');
    io.err(`aiops-central: ${(e as Error).message}\n`);
    return 1;
  }
  let stopping: Promise<void> | undefined;
  const stop = (signal: string): Promise<void> =>
    (stopping ??= (async () => {
      logger.info({ signal }, 'stopping');
      await service.shutdown();
      process.off('unhandledRejection', onUnhandled);
    })());
  const done = new Promise<number>((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void stop(sig).then(() => resolve(0)));
  });
  try {
    await service.start();
  } catch (e) {
    logger.fatal({ err: (e as Error).message }, 'central failed to start');
    io.err(`aiops-central: failed to start: ${(e as Error).message}\n`);
    await stop('start-failure');
    return 1;
  }
  logger.info(service.endpoints(), 'central ready');
  io.onReady?.(service);
  return done;
}
