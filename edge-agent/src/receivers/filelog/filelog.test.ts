import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { pino } from 'pino';
import { ManualClock, metricValue, RecordingMetrics, runLifecycleContract, testSettings } from '../../testing/index.js';
import { FilelogConfigSchema, filelogReceiverFactory } from './index.js';
import { harness, lastBatch, series, sumOf, tempDir } from './testutil.js';

const lines = (prefix: string, n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => `2026-01-02T03:04:05.000Z INFO ${prefix} request ${from + i} served in ${(from + i) % 97}ms\n`).join('');

describe('filelog receiver: config and lifecycle', () => {
  it('passes the lifecycle contract', async () => {
    const dir = tempDir();
    const cfg = FilelogConfigSchema.parse({ include: [`${dir}/*.log`] });
    await runLifecycleContract(() => filelogReceiverFactory.create(testSettings('filelog', { dataDir: tempDir('filelog-data-') }), cfg, new RecordingMetrics()));
  });

  it('defaults every key and refuses bad values, naming the key', () => {
    const c = FilelogConfigSchema.parse({ include: ['/var/log/app/*.log'] });
    assert.equal(c.start_at, 'end');
    assert.equal(c.poll_interval, 1000);
    assert.equal(c.interval, 10_000);
    assert.equal(c.max_line_bytes, 65_536);
    assert.equal(c.max_templates, 2000);
    assert.deepEqual(c.drain, { sim_th: 0.4, depth: 4, max_children: 100, max_tokens: 64 });
    assert.equal(FilelogConfigSchema.parse({ include: ['/x/*.log'], max_line_bytes: '1KiB', poll_interval: '250ms' }).max_line_bytes, 1024);
    const bad: Array<[unknown, string]> = [
      [{}, 'include'],
      [{ include: [] }, 'include'],
      [{ include: ['var/log/*.log'] }, 'include.0'],
      [{ include: ['/var/log/**/*.log'] }, 'include.0'],
      [{ include: ['/x/*.log'], start_at: 'middle' }, 'start_at'],
      [{ include: ['/x/*.log'], poll_interval: '0s' }, 'poll_interval'],
      [{ include: ['/x/*.log'], max_line_bytes: '1GiB' }, 'max_line_bytes'],
      [{ include: ['/x/*.log'], drain: { sim_th: 1.5 } }, 'drain.sim_th'],
      [{ include: ['/x/*.log'], drain: { depth: 2 } }, 'drain.depth'],
      [{ include: ['/x/*.log'], encoding: 'latin1' }, 'encoding'],
      [{ include: ['/x/*.log'], surprise: 1 }, ''],
    ];
    for (const [input, path] of bad) {
      const r = FilelogConfigSchema.safeParse(input);
      assert.equal(r.success, false, JSON.stringify(input));
      assert.ok(r.error!.issues.some((i) => i.path.join('.') === path), `${JSON.stringify(input)} -> ${JSON.stringify(r.error!.issues)}`);
    }
  });
});

describe('filelog receiver: tailing', () => {
  it('counts appended lines per file, level and template, cumulatively', async () => {
    const dir = tempDir();
    const file = join(dir, 'app.log');
    writeFileSync(file, lines('a', 10));
    const h = harness({ include: [`${dir}/*.log`], start_at: 'beginning' });
    await h.r.start();
    await h.r.pollNow();
    await h.r.emitNow();
    let b = lastBatch(h.sink);
    assert.equal(b.get(series('log_lines_total', { file, level: 'info' })), 10);
    assert.equal(b.get(series('log_bytes_total', { file })), statSync(file).size);
    assert.equal(b.get(series('log_templates', { file })), 1);
    const tid = h.r.status().templates[0]!.id;
    assert.equal(h.r.status().templates[0]!.template, 'a request <NUM> served in <DUR>');
    assert.equal(b.get(series('log_template_lines_total', { file, template_id: tid, level: 'info' })), 10);
    appendFileSync(file, '2026-01-02T03:04:06.000Z ERROR payment failed for order 77\n' + lines('a', 5, 10));
    await h.r.pollNow();
    await h.r.emitNow();
    b = lastBatch(h.sink);
    assert.equal(b.get(series('log_lines_total', { file, level: 'info' })), 15);
    assert.equal(b.get(series('log_lines_total', { file, level: 'error' })), 1);
    assert.equal(b.get(series('log_template_lines_total', { file, template_id: tid, level: 'info' })), 15);
    assert.equal(b.get(series('log_templates', { file })), 2);
    assert.equal(b.get(series('log_bytes_total', { file })), statSync(file).size);
    const kinds = new Map(h.sink.batches.at(-1)!.samples.map((s) => [s.name, s.kind]));
    assert.deepEqual(Object.fromEntries(kinds), { log_bytes_total: 'counter', log_templates: 'gauge', log_lines_total: 'counter', log_template_lines_total: 'counter' });
    assert.equal(h.sink.batches.at(-1)!.source, 'filelog/test');
    assert.equal(await metricValue(h.settings, 'aiops_agent_filelog_lines_total'), 16);
    await h.r.shutdown();
  });

  it('holds a partial last line until its newline arrives, and handles CRLF', async () => {
    const dir = tempDir();
    const file = join(dir, 'app.log');
    writeFileSync(file, '');
    const h = harness({ include: [`${dir}/*.log`], start_at: 'beginning' });
    await h.r.start();
    appendFileSync(file, 'WARN first half');
    await h.r.pollNow();
    assert.equal(h.r.countOf(file), 0);
    appendFileSync(file, ' and second half\r\nINFO next\r\n');
    await h.r.pollNow();
    assert.equal(h.r.countOf(file), 2);
    assert.equal(h.r.countOf(file, { level: 'warn' }), 1);
    assert.deepEqual(
      h.r.status().templates.map((t) => t.template).sort(),
      ['first half and second half', 'next'],
    );
    await h.r.shutdown();
  });

  it('start_at end skips what is there at start-up (including a partial line), later files are read from 0', async () => {
    const dir = tempDir();
    const a = join(dir, 'a.log');
    writeFileSync(a, lines('old', 50) + 'INFO partial line wit');
    const h = harness({ include: [`${dir}/*.log`] });
    await h.r.start();
    appendFileSync(a, 'hout its start\n' + lines('new', 3));
    const b = join(dir, 'b.log');
    writeFileSync(b, lines('b', 4));
    await h.r.pollNow();
    assert.equal(h.r.countOf(a), 3);
    assert.equal(h.r.countOf(b), 4);
    await h.r.shutdown();
  });

  it('labels by base name when asked, and emits template info series when asked', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'svc.log'), 'ERROR Connection from 10.0.0.1 port 5555\nERROR Connection from 10.0.0.2 port 6\n');
    const h = harness({ include: [`${dir}/*.log`], start_at: 'beginning', file_label: 'basename', emit_template_info: true, template_label_max_chars: 20 });
    await h.r.start();
    await h.r.pollNow();
    await h.r.emitNow();
    assert.equal(sumOf(h.sink, 'log_lines_total', { file: 'svc.log', level: 'error' }), 2);
    const info = h.sink.batches.at(-1)!.samples.filter((s) => s.name === 'log_template_info');
    assert.equal(info.length, 1);
    assert.equal(info[0]!.labels['template'], 'Connection from <...');
    await h.r.shutdown();
  });

  it('series of a file gone for good are emitted once more with their final values, then dropped', async () => {
    const dir = tempDir();
    const keep = join(dir, 'keep.log');
    const gone = join(dir, 'gone.log');
    writeFileSync(keep, 'INFO k\n');
    writeFileSync(gone, 'INFO g1\nINFO g2\n');
    const h = harness({ include: [`${dir}/*.log`], start_at: 'beginning', rotate_wait: 0 });
    await h.r.start();
    await h.r.pollNow();
    await h.r.emitNow();
    assert.equal(sumOf(h.sink, 'log_lines_total', { file: gone }), 2);
    unlinkSync(gone);
    await h.r.pollNow(); // read to its end and closed
    await h.r.emitNow();
    assert.equal(sumOf(h.sink, 'log_lines_total', { file: gone }), 2, 'final values, once more');
    await h.r.emitNow();
    assert.equal(h.sink.batches.at(-1)!.samples.some((s) => s.labels['file'] === gone), false);
    assert.equal(sumOf(h.sink, 'log_lines_total', { file: keep }), 1);
    await h.r.shutdown();
  });

  it('property: how writes are split across polls does not change what is counted', async () => {
    const text = readFileSync(new URL('./testdata/mixed-levels.log', import.meta.url), 'utf8');
    const reference = await (async () => {
      const dir = tempDir();
      const file = join(dir, 'x.log');
      writeFileSync(file, text);
      const h = harness({ include: [`${dir}/*.log`], start_at: 'beginning', max_line_bytes: 256 });
      await h.r.start();
      await h.r.pollNow();
      await h.r.emitNow();
      await h.r.shutdown();
      return [...lastBatch(h.sink)].map(([k, v]) => [k.replace(file, 'F'), v]).sort();
    })();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: text.length }), { maxLength: 12 }), async (cuts) => {
        const dir = tempDir();
        const file = join(dir, 'x.log');
        writeFileSync(file, '');
        const h = harness({ include: [`${dir}/*.log`], start_at: 'beginning', max_line_bytes: 256 });
        await h.r.start();
        const points = [...new Set([0, ...cuts, text.length])].sort((x, y) => x - y);
        const bytes = Buffer.from(text);
        for (let i = 1; i < points.length; i++) {
          appendFileSync(file, bytes.subarray(points[i - 1]!, points[i]!));
          await h.r.pollNow();
        }
        await h.r.emitNow();
        await h.r.shutdown();
        const got = [...lastBatch(h.sink)].map(([k, v]) => [k.replace(file, 'F'), v]).sort();
        assert.deepEqual(got, reference);
      }),
      { numRuns: 25 },
    );
  });
});

describe('filelog receiver: rotation without a tool', () => {
  it('rename + create: reads the old file to its end (also lines written to it after the rename), then the new one', async () => {
    const dir = tempDir();
    const file = join(dir, 'app.log');
    writeFileSync(file, lines('r', 10));
    const h = harness({ include: [`${dir}/*.log`], start_at: 'beginning', rotate_wait: '5s' });
    await h.r.start();
    await h.r.pollNow();
    assert.equal(h.r.countOf(file), 10);
    const writer = await open(file, 'a');
    await writer.write(lines('r', 5, 10));
    renameSync(file, `${file}.1`);
    await writer.write(lines('r', 2, 15)); // the app has not reopened yet
    writeFileSync(file, lines('n', 3));
    await h.r.pollNow();
    assert.equal(h.r.countOf(file), 20);
    assert.equal(h.r.status().files.length, 2);
    await writer.write('INFO last line of the old file, no newline');
    await writer.close();
    await h.r.pollNow();
    assert.equal(h.r.countOf(file), 20, 'held while the old file may still grow');
    (h.clock as ManualClock).advance(4999);
    await h.r.pollNow();
    assert.equal(h.r.status().files.length, 2, 'kept until rotate_wait has passed without growth');
    (h.clock as ManualClock).advance(1);
    await h.r.pollNow();
    assert.equal(h.r.countOf(file), 21, 'the partial last line is counted when the old file is closed');
    assert.equal(h.r.status().files.length, 1);
    assert.equal(await metricValue(h.settings, 'aiops_agent_filelog_rotations_total', { kind: 'rename' }), 1);
    await h.r.shutdown();
  });

  it('copytruncate: takes the unread tail from the copy, then reads the file from 0', async () => {
    const dir = tempDir();
    const file = join(dir, 'app.log');
    writeFileSync(file, lines('c', 10));
    const h = harness({ include: [`${dir}/*.log`], start_at: 'beginning' });
    await h.r.start();
    await h.r.pollNow();
    appendFileSync(file, lines('c', 7, 10)); // not read before the rotation
    copyFileSync(file, `${file}.1`);
    truncateSync(file, 0);
    appendFileSync(file, lines('d', 4));
    await h.r.pollNow();
    assert.equal(h.r.countOf(file), 21);
    assert.equal(await metricValue(h.settings, 'aiops_agent_filelog_rotations_total', { kind: 'truncate' }), 1);
    // Truncated and rewritten past the old offset before the next poll: the fingerprint tells.
    appendFileSync(file, lines('d', 30, 4));
    await h.r.pollNow();
    copyFileSync(file, `${file}.1`);
    truncateSync(file, 0);
    appendFileSync(file, lines('e', 60));
    await h.r.pollNow();
    assert.equal(h.r.countOf(file), 21 + 30 + 60);
    await h.r.shutdown();
  });

  it('a copy of a tailed file that the globs match is not counted again', async () => {
    const dir = tempDir();
    const file = join(dir, 'app.log');
    writeFileSync(file, lines('k', 10));
    const h = harness({ include: [`${dir}/*`], start_at: 'beginning' });
    await h.r.start();
    await h.r.pollNow();
    copyFileSync(file, join(dir, 'app.log.bak'));
    appendFileSync(file, lines('k', 2, 10));
    await h.r.pollNow();
    assert.equal(h.r.countOf(file), 12);
    assert.equal(h.r.countOf(join(dir, 'app.log.bak')), 0);
    // copytruncate with the copy under the globs: the tail comes from the copy exactly once.
    appendFileSync(file, lines('k', 3, 12));
    copyFileSync(file, join(dir, 'app.log.1'));
    await h.r.pollNow(); // the copy is seen before the truncation
    truncateSync(file, 0);
    appendFileSync(file, lines('m', 1));
    await h.r.pollNow();
    const total = h.r.status().files.reduce((s, f) => s + h.r.countOf(f.label), 0);
    assert.equal(total, 16);
    await h.r.shutdown();
  });
});

describe('filelog receiver: checkpoints', () => {
  it('resumes after a clean restart: counts continue exactly, template ids are kept', async () => {
    const dir = tempDir();
    const dataDir = tempDir('filelog-data-');
    const file = join(dir, 'app.log');
    writeFileSync(file, lines('p', 100) + 'INFO half a li');
    const h1 = harness({ include: [`${dir}/*.log`], start_at: 'beginning' }, { dataDir });
    await h1.r.start();
    await h1.r.pollNow();
    const ids1 = h1.r.status().templates.map((t) => t.id);
    await h1.r.shutdown();
    const finalOfFirst = lastBatch(h1.sink);
    assert.equal(finalOfFirst.get(series('log_lines_total', { file, level: 'info' })), 100);
    const cpFile = h1.r.checkpointFile;
    assert.ok(cpFile.startsWith(join(dataDir, 'filelog')));
    assert.equal(cpFile, join(dataDir, 'filelog', 'filelog_test.json'));
    assert.deepEqual(readdirSync(join(dataDir, 'filelog')), ['filelog_test.json'], 'no temp file left behind');
    assert.equal(statSync(join(dataDir, 'filelog')).mode & 0o777, 0o700);
    assert.equal(statSync(cpFile).mode & 0o777, 0o600);

    appendFileSync(file, 'ne\n' + lines('p', 20, 100));
    const h2 = harness({ include: [`${dir}/*.log`], start_at: 'end' }, { dataDir });
    await h2.r.start();
    await h2.r.pollNow();
    await h2.r.emitNow();
    const b = lastBatch(h2.sink);
    assert.equal(b.get(series('log_lines_total', { file, level: 'info' })), 121);
    assert.equal(b.get(series('log_bytes_total', { file })), statSync(file).size);
    assert.deepEqual(h2.r.status().templates.map((t) => t.id).slice(0, ids1.length), ids1);
    assert.equal(await metricValue(h2.settings, 'aiops_agent_filelog_checkpoint_total', { op: 'load', result: 'ok' }), 1);
    await h2.r.shutdown();
  });

  it('after a crash, resumes from the last checkpoint: nothing counted twice, nothing lost', async () => {
    const dir = tempDir();
    const dataDir = tempDir('filelog-data-');
    const file = join(dir, 'app.log');
    writeFileSync(file, lines('q', 40));
    const h1 = harness({ include: [`${dir}/*.log`], start_at: 'beginning' }, { dataDir });
    await h1.r.start();
    await h1.r.pollNow();
    await h1.r.emitNow(); // checkpoint written, then counts emitted
    const saved = readFileSync(h1.r.checkpointFile);
    const emitted = lastBatch(h1.sink).get(series('log_lines_total', { file, level: 'info' }));
    appendFileSync(file, lines('q', 25, 40));
    await h1.r.pollNow(); // read but never checkpointed nor emitted...
    await h1.r.shutdown();
    writeFileSync(h1.r.checkpointFile, saved); // ...because the process died here
    appendFileSync(file, lines('q', 5, 65));
    const h2 = harness({ include: [`${dir}/*.log`] }, { dataDir });
    await h2.r.start();
    await h2.r.pollNow();
    await h2.r.emitNow();
    const after = lastBatch(h2.sink).get(series('log_lines_total', { file, level: 'info' }));
    assert.equal(emitted, 40);
    assert.equal(after, 70, 'every line once, and the counter never went below what was emitted');
    await h2.r.shutdown();
  });

  it('after a restart, finds a file rotated (renamed) while stopped and reads its tail; the new file from 0', async () => {
    const dir = tempDir();
    const dataDir = tempDir('filelog-data-');
    const file = join(dir, 'app.log');
    writeFileSync(file, lines('s', 10));
    const h1 = harness({ include: [`${dir}/*.log`], start_at: 'beginning' }, { dataDir });
    await h1.r.start();
    await h1.r.pollNow();
    await h1.r.shutdown();
    appendFileSync(file, lines('s', 6, 10));
    renameSync(file, `${file}.1`);
    writeFileSync(file, lines('t', 3));
    const h2 = harness({ include: [`${dir}/*.log`], rotate_wait: 0 }, { dataDir });
    await h2.r.start();
    await h2.r.pollNow();
    assert.equal(h2.r.countOf(file), 19);
    assert.equal(h2.r.status().files.length, 1, 'the rotated file is closed once read');
    await h2.r.shutdown();
  });

  it('after a restart, finds the copy of a file copytruncated while stopped', async () => {
    const dir = tempDir();
    const dataDir = tempDir('filelog-data-');
    const file = join(dir, 'app.log');
    writeFileSync(file, lines('u', 10));
    const h1 = harness({ include: [`${dir}/*.log`], start_at: 'beginning' }, { dataDir });
    await h1.r.start();
    await h1.r.pollNow();
    await h1.r.shutdown();
    appendFileSync(file, lines('u', 8, 10));
    copyFileSync(file, `${file}.1`);
    truncateSync(file, 0);
    appendFileSync(file, lines('v', 40));
    const h2 = harness({ include: [`${dir}/*.log`] }, { dataDir });
    await h2.r.start();
    await h2.r.pollNow();
    assert.equal(h2.r.countOf(file), 58);
    await h2.r.shutdown();
  });

  it('starts without a corrupt checkpoint, counts it, and replaces it', async () => {
    const dir = tempDir();
    const dataDir = tempDir('filelog-data-');
    writeFileSync(join(dir, 'a.log'), lines('w', 3));
    const h1 = harness({ include: [`${dir}/*.log`], start_at: 'beginning' }, { dataDir });
    for (const garbage of ['{"version":1,"files":[{"offset":-5}]}', '\u0000\u00ff not json', '']) {
      mkdirSync(join(dataDir, 'filelog'), { recursive: true });
      writeFileSync(h1.r.checkpointFile, garbage);
      const h = harness({ include: [`${dir}/*.log`], start_at: 'beginning' }, { dataDir });
      await h.r.start();
      await h.r.pollNow();
      assert.equal(h.r.countOf(join(dir, 'a.log')), 3);
      assert.equal(await metricValue(h.settings, 'aiops_agent_filelog_checkpoint_total', { op: 'load', result: 'corrupt' }), 1);
      await h.r.shutdown();
      assert.equal(JSON.parse(readFileSync(h.r.checkpointFile, 'utf8')).version, 1);
    }
    assert.ok(existsSync(h1.r.checkpointFile));
  });
});

describe('filelog receiver: a real logger', () => {
  it('pino writing to a file gives the expected templates and levels', async () => {
    const dir = tempDir();
    const file = join(dir, 'pino.log');
    const dest = pino.destination({ dest: file, sync: true, mkdir: true });
    const logger = pino({ level: 'debug' }, dest);
    const h = harness({ include: [`${dir}/*.log`], start_at: 'beginning' });
    await h.r.start();
    for (let i = 0; i < 20; i++) logger.info({ user: 1000 + i }, `user ${1000 + i} logged in from 10.1.${i}.7`);
    for (let i = 0; i < 5; i++) logger.warn(`disk usage at ${90 + i}%`);
    for (let i = 0; i < 3; i++) logger.error({ err: new Error(`boom ${i}`) }, `payment failed for order ${7000 + i}`);
    const db = logger.child({ module: 'db' });
    for (let i = 0; i < 4; i++) db.debug(`query took ${i * 3 + 1}ms`);
    logger.trace('not written: below the level');
    logger.fatal('shutting down');
    dest.flushSync();
    await h.r.pollNow();
    const byTemplate = new Map(h.r.status().templates.map((t) => [t.template, t]));
    const expect: Array<[string, string, number]> = [
      ['user <NUM> logged in from <IP>', 'info', 20],
      ['disk usage at <NUM>', 'warn', 5],
      ['payment failed for order <NUM>', 'error', 3],
      ['query took <DUR>', 'debug', 4],
      ['shutting down', 'fatal', 1],
    ];
    assert.deepEqual([...byTemplate.keys()].sort(), expect.map((e) => e[0]).sort());
    for (const [template, level, n] of expect) {
      assert.equal(h.r.countOf(file, { templateId: byTemplate.get(template)!.id, level: level as 'info' }), n, template);
      assert.equal(h.r.countOf(file, { level: level as 'info' }), n, level);
    }
    await h.r.shutdown();
  });
});

describe('filelog receiver: the next component', () => {
  it('a failing next component is counted; the next emission carries the totals', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.log'), lines('x', 3));
    const h = harness({ include: [`${dir}/*.log`], start_at: 'beginning' });
    await h.r.start();
    await h.r.pollNow();
    h.sink.failWith = new Error('downstream full');
    await h.r.emitNow();
    assert.equal(await metricValue(h.settings, 'aiops_agent_filelog_emit_errors_total'), 1);
    h.sink.failWith = undefined;
    await h.r.emitNow();
    assert.equal(sumOf(h.sink, 'log_lines_total'), 3);
    await h.r.shutdown();
  });

  it('timers drive polling and emission on the injected clock', async () => {
    const dir = tempDir();
    const file = join(dir, 'a.log');
    writeFileSync(file, '');
    const h = harness({ include: [`${dir}/*.log`], poll_interval: '1s', interval: '10s' });
    const clock = h.clock as ManualClock;
    await h.r.start();
    appendFileSync(file, lines('y', 4));
    clock.advance(999);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(h.r.countOf(file), 0, 'no poll before poll_interval');
    clock.advance(1);
    await h.sink.waitFor(() => h.r.countOf(file) === 4, 10_000);
    assert.equal(h.sink.batches.length, 0);
    clock.advance(9000);
    await h.sink.waitFor((s) => s.batches.length === 1, 10_000);
    assert.equal(sumOf(h.sink, 'log_lines_total'), 4);
    await h.r.shutdown();
    assert.equal(clock.pendingTimers, 0, 'shutdown stops the timers');
  });
});
