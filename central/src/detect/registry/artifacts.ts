// Where model artifacts live: a small blob interface (read, list, conditional write) that a
// filesystem folder implements by default and object storage implements the same way (S3 and
// GCS have conditional writes: If-Match / If-None-Match on an ETag or generation). The registry
// needs nothing else, so swapping the backend changes no registry code.
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { CodedError } from '../../../../shared-schemas/src/runtime/index.js';

export type ArtifactErrorCode = 'CONFLICT' | 'INVALID_KEY' | 'IO';
export class ArtifactError extends CodedError<ArtifactErrorCode> {
  override name = 'ArtifactError';
}

export interface Artifact {
  bytes: Uint8Array;
  /** Opaque version of the content (changes with every write). */
  etag: string;
}

export interface ArtifactStore {
  read(key: string): Promise<Artifact | undefined>;
  /**
   * Writes the bytes at `key`. `ifMatch`: only when the current etag is this (null: only when
   * the key does not exist); CONFLICT otherwise. Readers see the old or the new bytes, never a mix.
   */
  write(key: string, bytes: Uint8Array, ifMatch?: string | null): Promise<string>;
  /** Keys under a prefix ("a/b/"), sorted. */
  list(prefix: string): Promise<string[]>;
}

const KEY = /^[a-z0-9][a-z0-9._-]{0,63}(\/[a-z0-9][a-z0-9._-]{0,63}){0,7}$/;

export function checkArtifactKey(key: string): void {
  if (typeof key !== 'string' || !KEY.test(key) || key.split('/').some((p) => p === '..' || p === '.')) {
    throw new ArtifactError('INVALID_KEY', `artifact key ${JSON.stringify(String(key).slice(0, 100))} must be lower-case path segments of [a-z0-9._-]`, false);
  }
}

const etagOf = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex').slice(0, 32);

/**
 * Artifacts as files under a root folder (owner-only). Conditional writes take a lock file per
 * key (O_EXCL create, removed after; a stale lock older than 30 s is broken), so the API and a
 * training job on the same host never both win; the bytes go to a temporary file renamed into
 * place (atomic on one filesystem).
 */
export class FilesystemArtifactStore implements ArtifactStore {
  constructor(readonly root: string) {}

  private path(key: string): string {
    checkArtifactKey(key);
    return join(this.root, ...key.split('/'));
  }

  async read(key: string): Promise<Artifact | undefined> {
    try {
      const bytes = await readFile(this.path(key));
      return { bytes, etag: etagOf(bytes) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err instanceof ArtifactError ? err : new ArtifactError('IO', `reading ${key}: ${(err as Error).message}`, true, { cause: err });
    }
  }

  async write(key: string, bytes: Uint8Array, ifMatch?: string | null): Promise<string> {
    const p = this.path(key);
    await mkdir(dirname(p), { recursive: true, mode: 0o700 });
    const lock = `${p}.lock`;
    const release = ifMatch === undefined ? undefined : await this.lock(lock);
    try {
      if (ifMatch !== undefined) {
        const cur = await this.read(key);
        if (ifMatch === null ? cur !== undefined : cur?.etag !== ifMatch) {
          throw new ArtifactError('CONFLICT', `${key} changed since it was read (another writer); read it again and retry`, true);
        }
      }
      const tmp = `${p}.${process.pid}.${Date.now()}.tmp`;
      await writeFile(tmp, bytes, { mode: 0o600 });
      await rename(tmp, p);
      return etagOf(bytes);
    } finally {
      await release?.();
    }
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      for (const e of entries) {
        const full = join(dir, e.name);
        if (e.isDirectory()) await walk(full);
        else if (!e.name.endsWith('.tmp') && !e.name.endsWith('.lock')) out.push(relative(this.root, full).split(sep).join('/'));
      }
    };
    await walk(this.root);
    return out.filter((k) => k.startsWith(prefix)).sort();
  }

  private async lock(path: string): Promise<() => Promise<void>> {
    for (let attempt = 0; ; attempt++) {
      try {
        const h = await open(path, 'wx', 0o600);
        await h.close();
        return () => rm(path, { force: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new ArtifactError('IO', `locking ${path}: ${(err as Error).message}`, true, { cause: err });
        const age = await stat(path).then((s) => Date.now() - s.mtimeMs, () => 0);
        if (age > 30_000) await rm(path, { force: true });
        else if (attempt > 200) throw new ArtifactError('CONFLICT', `${path} is locked by another writer`, true);
        else await new Promise((r) => setTimeout(r, 10 + attempt));
      }
    }
  }
}
