// `aiops`: the operator's command line for central.
//   aiops keys create --name ci --scope read,write      (on the central host: opens its database)
//   aiops keys list | aiops keys revoke <id>
//   aiops agents enroll [--ttl 1h]                      (REST, admin key: prints a one-time token)
//   aiops agents list | aiops agents revoke <id>
//   aiops alerts list [--status firing] [--label k=v]   (REST, read key)
//   aiops incidents list|show <id>|ack <id>|resolve <id>|analyze <id> (REST, read key; write key to ack, resolve and analyze)
//   aiops changes record --service cart --version 1.4.2 | aiops changes list   (REST, write key to record)
// Keys are managed on the database directly: the first admin key cannot come from an API that
// needs one, and whoever can read central's data folder owns the installation anyway. Every
// other command goes through the REST API with a key (--key or AIOPS_API_KEY), so agent
// revocation reaches the running process and drops the agent's connections at once.
import { Command, InvalidArgumentError } from 'commander';
import { API_KEY_SCOPES, openSqliteStores } from '../storage/index.js';
import type { ApiKeyScope } from '../storage/index.js';
import { loadCentralConfig } from '../config/config.js';
import { centralDatabasePath } from '../service/paths.js';
import { positiveDurationArg } from './duration-arg.js';

export interface CliIo {
  out(s: string): void;
  err(s: string): void;
  env: NodeJS.ProcessEnv;
  /** Injected for tests. */
  fetch?: typeof fetch;
  now?: () => number;
}

class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

function table(rows: Array<Record<string, string>>, columns: string[]): string {
  if (rows.length === 0) return '(none)\n';
  const width = columns.map((c) => Math.max(c.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(width[i]!)).join('  ').trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...rows.map((r) => line(columns.map((c) => r[c] ?? '')))].join('\n') + '\n';
}

const iso = (ms: number) => (ms > 0 ? new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z') : '-');

export async function aiopsMain(argv: string[], io: CliIo): Promise<number> {
  const now = io.now ?? Date.now;
  const doFetch = io.fetch ?? fetch;
  const program = new Command()
    .name('aiops')
    .description('Operate an AIOps central: API keys, agent enrollment, alerts, incidents and changes.')
    .option('--url <url>', 'central API base URL (env AIOPS_URL)', io.env.AIOPS_URL ?? 'http://127.0.0.1:8080')
    .option('--key <token>', 'API key for REST commands (env AIOPS_API_KEY; prefer the environment: arguments show in ps)')
    .option('-c, --config <file>', "central's config file (keys commands: where its data_dir is)")
    .option('--data-dir <dir>', "central's data folder (keys commands; overrides the config; env AIOPS_DATA_DIR)")
    .option('--json', 'print JSON instead of tables')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError()
    .addHelpText('after', '\nExamples:\n  aiops keys create --name admin --scope admin\n  AIOPS_API_KEY=aiops_k_... aiops alerts list --status firing\n  aiops agents enroll --ttl 30m\n  AIOPS_API_KEY=$DEPLOY_KEY aiops changes record --service cart --version 1.4.2 --id "$CI_PIPELINE_ID"\n');

  const g = () => program.opts<{ url: string; key?: string; config?: string; dataDir?: string; json?: boolean }>();

  const withStores = async <T>(fn: (s: ReturnType<typeof openSqliteStores>) => Promise<T>): Promise<T> => {
    const o = g();
    let dataDir = o.dataDir ?? io.env.AIOPS_DATA_DIR;
    if (dataDir === undefined) {
      try {
        dataDir = loadCentralConfig(o.config, io.env).data_dir;
      } catch (e) {
        throw new CliError(`aiops: ${(e as Error).message}`, 2);
      }
    }
    let stores;
    try {
      stores = openSqliteStores(centralDatabasePath(dataDir), { now });
    } catch (e) {
      throw new CliError(`aiops: cannot open central's database in ${dataDir}: ${(e as Error).message}\n(give --data-dir or --config; keys commands run on the central host)`);
    }
    try {
      return await fn(stores);
    } finally {
      await stores.close();
    }
  };

  const api = async (method: string, path: string, body?: unknown): Promise<any> => {
    const o = g();
    const key = o.key ?? io.env.AIOPS_API_KEY;
    if (!key) throw new CliError('aiops: this command needs an API key: set AIOPS_API_KEY (or --key); create one with `aiops keys create`', 2);
    let res: Response;
    try {
      res = await doFetch(new URL(path, o.url.endsWith('/') ? o.url : `${o.url}/`), {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (e) {
      throw new CliError(`aiops: cannot reach central at ${o.url}: ${(e as Error).message} (is it running? set --url or AIOPS_URL)`);
    }
    const text = await res.text();
    let json: any;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const msg = json?.message ?? text.slice(0, 300);
      const hint = res.status === 401 ? ' (the key is unknown, revoked or expired)' : res.status === 403 ? ` (the key lacks the "${json?.requiredScope ?? ''}" scope)` : '';
      throw new CliError(`aiops: ${method} ${path} answered ${res.status}: ${msg}${hint}`);
    }
    return json;
  };

  const print = (data: unknown, human: () => string) => io.out(g().json ? `${JSON.stringify(data, null, 2)}\n` : human());

  const scopes = (v: string): ApiKeyScope[] => {
    const list = v.split(',').map((s) => s.trim()).filter(Boolean);
    for (const s of list) if (!(API_KEY_SCOPES as readonly string[]).includes(s)) throw new InvalidArgumentError(`unknown scope "${s}" (scopes: ${API_KEY_SCOPES.join(', ')})`);
    if (list.length === 0) throw new InvalidArgumentError('give at least one scope');
    return list as ApiKeyScope[];
  };

  const keys = program.command('keys').description('API keys (runs on the central host, on its database)');
  keys
    .command('create')
    .description('create a key; its token is printed once')
    .requiredOption('--name <name>', 'what the key is for, e.g. "grafana" or "ci"')
    .requiredOption('--scope <list>', `comma-separated: ${API_KEY_SCOPES.join(', ')}`, scopes)
    .option('--tenant <tenant>', 'tenant the key acts for (default: the config\'s tenant)')
    .option('--expires <duration>', 'lifetime, e.g. 90d (default: never)', positiveDurationArg('30m, 12h or 90d', 40))
    .action(async (o: { name: string; scope: ApiKeyScope[]; tenant?: string; expires?: number }) => {
      await withStores(async (s) => {
        const tenant = o.tenant ?? loadCentralConfig(g().config, io.env).tenant;
        const { record, token } = await s.apiKeys.create({ name: o.name, tenant, scopes: o.scope, ...(o.expires ? { expiresAtMs: now() + o.expires } : {}) }, now());
        await s.audit.append({ atMs: now(), actor: 'cli', action: 'key.create', target: record.id, details: { name: record.name, scopes: record.scopes, tenant } });
        print({ id: record.id, token, scopes: record.scopes, tenant, expiresAt: record.expiresAtMs ? iso(record.expiresAtMs) : null }, () => `created key ${record.id} (${record.scopes.join(',')}, tenant ${tenant})\ntoken (shown once, store it now): ${token}\n`);
      });
    });
  keys
    .command('list')
    .description('list keys (never their tokens)')
    .action(async () => {
      await withStores(async (s) => {
        const list = await s.apiKeys.list();
        print(list, () => table(list.map((k) => ({ id: k.id, name: k.name, tenant: k.tenant, scopes: k.scopes.join(','), created: iso(k.createdAtMs), expires: iso(k.expiresAtMs), revoked: iso(k.revokedAtMs), last_used: iso(k.lastUsedAtMs) })), ['id', 'name', 'tenant', 'scopes', 'created', 'expires', 'revoked', 'last_used']));
      });
    });
  keys
    .command('revoke <id>')
    .description('revoke a key; requests with it are refused at once')
    .action(async (id: string) => {
      await withStores(async (s) => {
        if (!(await s.apiKeys.revoke(id, now()))) throw new CliError(`aiops: no active key ${id} (see \`aiops keys list\`)`);
        await s.audit.append({ atMs: now(), actor: 'cli', action: 'key.revoke', target: id });
        io.out(`revoked key ${id}\n`);
      });
    });

  const agents = program.command('agents').description('agent enrollment (REST, admin key)');
  agents
    .command('enroll')
    .description('print a one-time, expiring enrollment token for a new agent')
    .option('--ttl <duration>', 'how long the token stays valid, e.g. 30m (default 1h)')
    .option('--tenant <tenant>', "the agent's tenant (default: the key's)")
    .action(async (o: { ttl?: string; tenant?: string }) => {
      const r = await api('POST', 'api/v1/agents/enrollment-tokens', { ...(o.ttl ? { ttl: o.ttl } : {}), ...(o.tenant ? { tenant: o.tenant } : {}) });
      print(r, () => `enrollment token (one use, valid until ${r.expires_at}, tenant ${r.tenant}):\n${r.token}\n\nStart the agent with it, e.g.:\n  AIOPS_ENROLLMENT_TOKEN=${r.token} aiops-agent --config agent.yaml\n(agent.yaml: agent.enrollment.url: ${g().url}, token: \${env:AIOPS_ENROLLMENT_TOKEN})\n`);
    });
  agents
    .command('list')
    .description('list enrolled agents')
    .action(async () => {
      const r = await api('GET', 'api/v1/agents');
      print(r, () => table((r.agents as any[]).map((a) => ({ agent: a.agent_id, tenant: a.tenant, enrolled: a.enrolled_at ?? '-', last_seen: a.last_seen_at ?? '-', revoked: a.revoked_at ?? '-' })), ['agent', 'tenant', 'enrolled', 'last_seen', 'revoked']));
    });
  agents
    .command('revoke <agentId>')
    .description('revoke an agent: its connections are dropped and its credential refused at once')
    .action(async (id: string) => {
      await api('DELETE', `api/v1/agents/${encodeURIComponent(id)}`);
      io.out(`revoked agent ${id}\n`);
    });

  const alerts = program.command('alerts').description('alerts (REST, read key)');
  alerts
    .command('list')
    .description('list alerts, most recently updated first')
    .option('--status <status>', 'firing or resolved')
    .option('--label <name=value>', 'label filter (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--limit <n>', 'at most this many (default 50)', '50')
    .action(async (o: { status?: string; label?: string[]; limit: string }) => {
      const q = new URLSearchParams({ limit: o.limit });
      if (o.status) q.set('status', o.status);
      for (const l of o.label ?? []) q.append('label', l);
      const r = await api('GET', `api/v1/alerts?${q}`);
      print(r, () =>
        table(
          (r.alerts as any[]).map((a) => ({
            status: a.status,
            alert: a.labels.alertname ?? '',
            service: a.labels.service ?? '',
            host: a.labels.host ?? a.labels.instance ?? '',
            metric: a.labels.metric ?? a.labels.__name__ ?? '',
            severity: a.labels.severity ?? '',
            since: a.startsAt.replace(/\.\d{3}Z$/, 'Z'),
            summary: (a.annotations.summary ?? '').slice(0, 80),
          })),
          ['status', 'alert', 'service', 'host', 'metric', 'severity', 'since', 'summary'],
        ),
      );
    });
  const incidents = program.command('incidents').description('incidents (REST: read key to look, write key to acknowledge or resolve)');
  incidents
    .command('list')
    .description('list incidents, most recently updated first')
    .option('--status <status>', 'open, acknowledged, mitigated or resolved')
    .option('--severity <severity>', 'info, warning or critical')
    .option('--service <name>', 'only incidents naming this service')
    .option('--limit <n>', 'at most this many (default 50)', '50')
    .option('--offset <n>', 'skip this many (paging)', '0')
    .action(async (o: { status?: string; severity?: string; service?: string; limit: string; offset: string }) => {
      const q = new URLSearchParams({ limit: o.limit, offset: o.offset });
      if (o.status) q.set('status', o.status);
      if (o.severity) q.set('severity', o.severity);
      if (o.service) q.set('service', o.service);
      const r = await api('GET', `api/v1/incidents?${q}`);
      print(r, () => {
        const rows = table(
          (r.incidents as any[]).map((i) => ({ id: i.id, status: i.status, severity: i.severity, alerts: String(i.alertFingerprints.length), services: i.services.join(','), opened: i.openedAt.replace(/\.\d{3}Z$/, 'Z'), title: i.title.slice(0, 90) })),
          ['id', 'status', 'severity', 'alerts', 'services', 'opened', 'title'],
        );
        return r.next !== undefined ? `${rows}(more: --offset ${r.next})\n` : rows;
      });
    });
  incidents
    .command('show <id>')
    .description('one incident: its alerts, services, root causes and timeline')
    .action(async (id: string) => {
      const r = await api('GET', `api/v1/incidents/${encodeURIComponent(id)}`);
      print(r, () => {
        const lines = [
          `${r.id}  ${r.status}  ${r.severity}`,
          `title:     ${r.title}`,
          `opened:    ${r.openedAt}${r.resolvedAt ? `   resolved: ${r.resolvedAt}` : ''}`,
          `services:  ${r.services.join(', ') || '-'}`,
          `represented by alert ${r.representativeFingerprint}`,
          '',
          `alerts (${r.alertFingerprints.length}):`,
          table(
            (r.alerts as any[]).map((a) => ({ fingerprint: a.fingerprint, status: a.status, alert: a.labels.alertname ?? '', service: a.labels.service ?? a.labels.database ?? '', host: a.labels.host ?? '', metric: a.labels.metric ?? a.labels.__name__ ?? '', severity: a.labels.severity ?? '', since: a.startsAt.replace(/\.\d{3}Z$/, 'Z') })),
            ['fingerprint', 'status', 'alert', 'service', 'host', 'metric', 'severity', 'since'],
          ).trimEnd(),
        ];
        if ((r.rootCauses as any[]).length > 0) {
          lines.push('', 'root causes (most likely first):');
          for (const c of r.rootCauses as any[]) {
            lines.push(`  ${c.rank}. ${c.service}${c.component ? ` (${c.component})` : ''} ${c.metric}  p=${Number(c.probability).toFixed(2)}  ${c.method}${c.onsetAt ? `  onset ${String(c.onsetAt).replace(/\.\d{3}Z$/, 'Z')}` : ''}`);
            for (const e of (c.evidence as string[]).slice(0, c.rank === 1 ? 8 : 3)) lines.push(`       - ${e}`);
          }
        } else lines.push('', 'root causes: none yet (npm run aiops -- incidents analyze <id> ranks them now)');
        lines.push('', 'timeline:');
        for (const e of r.timeline as any[]) lines.push(`  ${e.at.replace(/\.\d{3}Z$/, 'Z')}  ${e.type.padEnd(22)} ${e.text}${e.actor !== 'correlation' ? `  [${e.actor}]` : ''}`);
        return `${lines.join('\n')}\n`;
      });
    });
  incidents
    .command('analyze <id>')
    .description('rank the incident\'s root causes now (write key) and print them')
    .action(async (id: string) => {
      const r = await api('POST', `api/v1/incidents/${encodeURIComponent(id)}/analyze`, {});
      print(r, () => {
        if (r.analysed === null) return `${r.id}: no metrics of its services in the analysis window to rank\n`;
        const lines = [`${r.id}: ${r.analysed.series} series of ${r.analysed.entities} entities analysed`];
        for (const c of r.rootCauses as any[]) lines.push(`  ${c.rank}. ${c.service} ${c.metric}  p=${Number(c.probability).toFixed(2)}  ${c.method}`);
        return `${lines.join('\n')}\n`;
      });
    });
  const changes = program.command('changes').description('deploys and configuration changes: a prior for root-cause analysis (REST: write key to record, read key to list)');
  changes
    .command('record')
    .description('record a deploy, rollback or configuration change of a service or host (a CI/CD step after a rollout)')
    .option('--service <name>', 'the service changed')
    .option('--host <name>', 'the host changed (instead of --service)')
    .option('--kind <kind>', 'deploy, rollback, config, scale, feature_flag, ...', 'deploy')
    .option('--at <time>', 'when it took effect: RFC 3339 or epoch seconds (default: now)')
    .option('--version <version>', 'the version rolled out')
    .option('--description <text>', 'what changed')
    .option('--id <id>', 'idempotency key, e.g. the pipeline run id (a retry records it once)')
    .option('--source <name>', "who reports it (default: the API key's name)")
    .action(async (o: { service?: string; host?: string; kind: string; at?: string; version?: string; description?: string; id?: string; source?: string }) => {
      if ((o.service === undefined) === (o.host === undefined)) throw new CliError('aiops: give --service <name> or --host <name> (one of them)', 2);
      const body = Object.fromEntries(Object.entries({ service: o.service, host: o.host, kind: o.kind, at: o.at, version: o.version, description: o.description, id: o.id, source: o.source }).filter(([, v]) => v !== undefined));
      const r = await api('POST', 'api/v1/changes', body);
      print(r, () => `recorded ${r.kind} of ${r.service ?? r.host} at ${String(r.at).replace(/\.\d{3}Z$/, 'Z')} (id ${r.id})\n`);
    });
  changes
    .command('list')
    .description('list changes, latest first')
    .option('--service <name>', 'only this service')
    .option('--host <name>', 'only this host')
    .option('--since <duration>', 'only changes in the last 2h, 1d, ...', positiveDurationArg('"2h" or "1d"'))
    .option('--limit <n>', 'at most this many (default 50)', '50')
    .action(async (o: { service?: string; host?: string; since?: number; limit: string }) => {
      const q = new URLSearchParams({ limit: o.limit });
      if (o.service) q.set('service', o.service);
      if (o.host) q.set('host', o.host);
      if (o.since !== undefined) q.set('from', String(now() - o.since));
      const r = await api('GET', `api/v1/changes?${q}`);
      print(r, () =>
        table(
          (r.changes as any[]).map((c) => ({ at: String(c.at).replace(/\.\d{3}Z$/, 'Z'), kind: c.kind, service: c.service ?? '', host: c.host ?? '', version: c.version, source: c.source, description: String(c.description).split('\n')[0]!.slice(0, 80) })),
          ['at', 'kind', 'service', 'host', 'version', 'source', 'description'],
        ),
      );
    });
  for (const [verb, done] of [
    ['ack', 'acknowledged'],
    ['resolve', 'resolved'],
  ] as const) {
    incidents
      .command(`${verb} <id>`)
      .description(verb === 'ack' ? 'acknowledge an incident (write key): someone is on it' : 'resolve an incident by hand (write key): later alerts open a new one')
      .option('--comment <text>', 'why, for the timeline')
      .action(async (id: string, o: { comment?: string }) => {
        const r = await api('POST', `api/v1/incidents/${encodeURIComponent(id)}/${verb}`, o.comment ? { comment: o.comment } : {});
        print(r, () => `${r.id} ${done} (status ${r.status})\n`);
      });
  }

  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CliError) {
      io.err(`${e.message}\n`);
      return e.exitCode;
    }
    const code = (e as { exitCode?: number }).exitCode;
    if (code !== undefined) return code;
    io.err(`aiops: ${(e as Error).message}\n`);
    return 1;
  }
}
