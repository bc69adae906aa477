// Measurement for docs/decisions/019-chunked-sample-storage.md (not a test): the cost of
// writing one ~330-byte chunk row for each of 1,000 series per write (two transactions of
// 500, as the remote-write route does), 20,000 series, 16 rounds (each series gains a chunk
// per round), in two layouts and two checkpoint modes, bare better-sqlite3 on a WAL file:
//   node --import tsx central/src/storage/testdata/measure-chunk-layout.ts [rounds=16]
// - clustered: WITHOUT ROWID, PRIMARY KEY (series_id, start_ms) (rows clustered by series)
// - rowid:     rowid table (rows in write order) + covering index (series_id, start_ms, end_ms, count)
// Each write looks up the series' last chunk first (the write path's overlap check).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import Database from 'better-sqlite3';

const ROUNDS = Number(process.argv[2] ?? 16);
const SERIES = 20_000;
const PER_WRITE = 1000;

const CHECKPOINTER = `
const { parentPort, workerData } = require('node:worker_threads');
const db = new (require(workerData.module))(workerData.path, { timeout: 0 });
const t = setInterval(() => { try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {} }, 200);
parentPort.on('message', () => { clearInterval(t); db.close(); parentPort.close(); });
`;

function run(layout: 'clustered' | 'rowid', checkpoint: 'inline' | 'background'): number[] {
  const dir = mkdtempSync(join(tmpdir(), 'aiops-layout-'));
  const path = join(dir, 'x.db');
  const h = new Database(path);
  h.pragma('journal_mode = WAL');
  h.pragma('synchronous = NORMAL');
  h.pragma('cache_size = -16384');
  h.pragma(`wal_autocheckpoint = ${checkpoint === 'inline' ? 10_000 : 40_000}`);
  h.pragma('journal_size_limit = 67108864');
  if (layout === 'clustered') {
    h.exec('CREATE TABLE c (series_id INTEGER NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, count INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (series_id, start_ms)) WITHOUT ROWID');
  } else {
    h.exec('CREATE TABLE c (id INTEGER PRIMARY KEY, series_id INTEGER NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, count INTEGER NOT NULL, data BLOB NOT NULL); CREATE UNIQUE INDEX c_by_series ON c (series_id, start_ms, end_ms, count)');
  }
  const worker = checkpoint === 'background' ? new Worker(CHECKPOINTER, { eval: true, workerData: { module: createRequire(import.meta.url).resolve('better-sqlite3'), path } }) : undefined;
  const last = h.prepare('SELECT start_ms, end_ms, count FROM c WHERE series_id = ? AND start_ms <= ? ORDER BY start_ms DESC LIMIT 1').raw();
  const ins = h.prepare('INSERT INTO c (series_id, start_ms, end_ms, count, data) VALUES (?, ?, ?, ?, ?)');
  const blob = Buffer.alloc(330, 7);
  const perRound: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const t = performance.now();
    for (let g = 0; g < SERIES / PER_WRITE; g++) {
      for (let half = 0; half < 2; half++) {
        h.transaction(() => {
          for (let i = half * (PER_WRITE / 2); i < (half + 1) * (PER_WRITE / 2); i++) {
            const id = g * PER_WRITE + i + 1;
            const ts = 1.7e12 + round * 100_000;
            last.get(id, ts + 99_000);
            ins.run(id, ts, ts + 99_000, 100, blob);
          }
        }).immediate();
      }
    }
    perRound.push((performance.now() - t) / (SERIES / PER_WRITE));
  }
  worker?.postMessage('close');
  h.close();
  rmSync(dir, { recursive: true, force: true });
  return perRound;
}

console.log(`ms per write of 1,000 chunk rows (two transactions), by round (${SERIES} series, each round adds one chunk per series)`);
for (const layout of ['clustered', 'rowid'] as const) {
  for (const checkpoint of ['inline', 'background'] as const) {
    const r = run(layout, checkpoint);
    const q = (from: number, to: number) => {
      const s = r.slice(from, to).sort((a, b) => a - b);
      return s[Math.floor(s.length / 2)]!.toFixed(1);
    };
    console.log(`${layout.padEnd(9)} ${checkpoint.padEnd(10)} rounds 1-4 median ${q(0, 4)}, rounds ${ROUNDS - 3}-${ROUNDS} median ${q(ROUNDS - 4, ROUNDS)}   [${r.map((x) => x.toFixed(1)).join(' ')}]`);
  }
}
process.exit(0);
