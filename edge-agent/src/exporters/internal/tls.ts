// TLS material from files. Read at start (so a wrong path fails the start with the key named)
// and again on every connect (so rotated certificates are picked up without a restart).
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../../errors.js';

export interface TlsFileConfig {
  ca_file?: string | undefined;
  cert_file?: string | undefined;
  key_file?: string | undefined;
}

export interface TlsFiles {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** Reads the configured files; a failure is a ConfigError naming `${prefix}.<key>` (never the contents). */
export async function readTlsFiles(cfg: TlsFileConfig, prefix: string): Promise<TlsFiles> {
  const out: TlsFiles = {};
  const items: Array<[keyof TlsFiles, string, string | undefined]> = [
    ['ca', 'ca_file', cfg.ca_file],
    ['cert', 'cert_file', cfg.cert_file],
    ['key', 'key_file', cfg.key_file],
  ];
  for (const [k, key, path] of items) {
    if (path === undefined) continue;
    try {
      out[k] = await readFile(path);
    } catch (cause) {
      throw new ConfigError(`${prefix}.${key}`, `${prefix}.${key}: cannot read ${path}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, { cause });
    }
  }
  return out;
}
