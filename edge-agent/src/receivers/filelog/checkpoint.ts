// The receiver's durable state: per-file read positions, templates and cumulative counts, saved
// together as one JSON document so that they always agree (a line is either before the saved
// offset and inside the saved counts, or after it and not). Written atomically: temp file in the
// same folder, fsync, rename over the old one, fsync of the folder.

import { mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { LEVELS } from './level.js';

export const CHECKPOINT_VERSION = 1;
/** A checkpoint larger than this is refused as corrupt (series and templates are bounded far below). */
export const MAX_CHECKPOINT_BYTES = 256 * 1024 * 1024;

const level = z.enum(LEVELS);
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const FileEntrySchema = z.object({
  label: z.string(),
  path: z.string(),
  dev: z.string().regex(/^\d+$/),
  ino: z.string().regex(/^\d+$/),
  fp_len: z.number().int().min(0).max(1 << 20),
  fp_hash: z.string().max(128),
  offset: count,
  discarding: z.boolean(),
});

const ClusterSchema = z.object({
  id: z.string().min(1).max(64),
  tokens: z.array(z.string()).max(4096),
  size: count,
  route: z.array(z.string()).min(1).max(32),
});

const FileCountsSchema = z.object({
  label: z.string(),
  bytes: count,
  lines: z.array(z.tuple([level, count])),
  templates: z.array(z.tuple([z.string().max(64), level, count])),
});

export const CheckpointSchema = z.object({
  version: z.literal(CHECKPOINT_VERSION),
  receiver: z.string(),
  saved_at_ms: z.number(),
  files: z.array(FileEntrySchema),
  templates: z.array(ClusterSchema),
  counts: z.array(FileCountsSchema),
  /** Labels (paths) ever tracked and still counted: a new file at such a path is read from its start. */
  known_labels: z.array(z.string()),
});

export type Checkpoint = z.output<typeof CheckpointSchema>;
export type FileEntry = z.output<typeof FileEntrySchema>;
export type FileCountsEntry = z.output<typeof FileCountsSchema>;

/** `${dataDir}/filelog/<id with anything but [A-Za-z0-9_.-] replaced by _>.json` */
export function checkpointPath(dataDir: string, componentId: string): string {
  const safe = componentId.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+/, '_');
  return join(dataDir, 'filelog', `${safe}.json`);
}

export type LoadResult = { kind: 'ok'; checkpoint: Checkpoint } | { kind: 'missing' } | { kind: 'corrupt'; reason: string };

export async function loadCheckpoint(path: string): Promise<LoadResult> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'corrupt', reason: (err as Error).message };
  }
  if (size > MAX_CHECKPOINT_BYTES) return { kind: 'corrupt', reason: `larger than ${MAX_CHECKPOINT_BYTES} bytes` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    return { kind: 'corrupt', reason: `not JSON: ${(err as Error).message.slice(0, 200)}` };
  }
  const r = CheckpointSchema.safeParse(parsed);
  if (!r.success) {
    const issue = r.error.issues[0];
    return { kind: 'corrupt', reason: `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}` };
  }
  return { kind: 'ok', checkpoint: r.data };
}

/** Atomic replace: a reader (or a crash) sees the old document or the new one, never a mix. */
export async function writeCheckpoint(path: string, cp: Checkpoint): Promise<number> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}`;
  const body = JSON.stringify(cp);
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(body, 'utf8');
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  // Make the rename itself durable; some filesystems refuse fsync on a folder, which is harmless.
  try {
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // best effort
  }
  return body.length;
}
