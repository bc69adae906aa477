// Bad input never stops the receiver: every case below is read to the end, counted, and leaves
// the receiver working for the next normal line.
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { metricValue } from '../../testing/index.js';
import type { ManualClock } from '../../testing/index.js';
import { harness, sumOf, tempDir } from './testutil.js';

const dropped = (h: ReturnType<typeof harness>, reason: string) => metricValue(h.settings, 'aiops_agent_filelog_dropped_total', { reason });

describe('filelog receiver: hostile input', () => {
  it('a 10 MB single line is cut at max_line_bytes, counted once, and the next line is fine', async () => {
    const dir = tempDir();
    const file = join(dir, 'big.log');
    writeFileSync(file, '');
    const h = harness({ include: [`${dir}/*.log`], start_at: 'beginning', max_bytes_per_poll: '1MiB' });
    await h.r.start();
    appendFileSync(file, `ERROR ${'A'.repeat(10 * 1024 * 1024)}\nINFO after the big one\n`);
    await h.r.pollNow();
    assert.equal(h.r.countOf(file), 2);
    assert.equal(h.r.countOf(file, { level: 'error' }), 1);
    assert.equal(await dropped(h, 'line_truncated'), 1);
    assert.ok(h.r.status().templates.every((t) => t.template.length < 1000), 'template text stays small');
    await h.r.shutdown();
  });

  it('a 10 MB line without a newline is not held in memory: its head is counted once, the rest skipped', async () => {
    const dir = tempDir();
    const file = join(dir, 'nonl.log');
    writeFileSync(file, '');
    const h = harness({ include: [`${dir}/*.log`], start_at: 'beginning', max_line_bytes: '4KiB' });
    await h.r.start();
    const chunk = 'x'.repeat(1024 * 1024);
    for (let i = 0; i < 10; i++) {
      appendFileSync(file, chunk);
      await h.r.pollNow();
    }
    assert.equal(h.r.countOf(file), 1);
    assert.equal(h.r.status().files[0]!.offset, 10 * 1024 * 1024, 'skipped bytes are consumed, not re-read');
    appendFileSync(file, 'still the same line\nWARN next\n');
    await h.r.pollNow();
    assert.equal(h.r.countOf(file), 2);
    assert.equal(h.r.countOf(file, { level: 'warn' }), 1);
    assert.equal(await dropped(h, 'line_truncated'), 1);
    await h.r.shutdown();
  });

  it('binary garbage and invalid UTF-8 are decoded with U+FFFD, counted, and never crash', async () => {
    const dir = tempDir();
    const file = join(dir, 'bin.log');
    writeFileSync(file, '');
    const h = harness({ include: [`${dir}/*.log`], start_at: 'beginning', max_templates: 200 });
    await h.r.start();
    appendFileSync(file, Buffer.concat([Buffer.from('INFO bad bytes '), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xe2, 0x82]), Buffer.from(' end\n')]));
    await h.r.pollNow();
    assert.equal(h.r.countOf(file), 1);
    assert.equal(await metricValue(h.settings, 'aiops_agent_filelog_invalid_utf8_lines_total'), 1);
    assert.match(h.r.status().templates[0]!.template, /\uFFFD/);
    // Seeded (xorshift32) so the test is the same every run.
    const garbage = Buffer.alloc(2 * 1024 * 1024);
    let x = 0x9e3779b9;
    for (let i = 0; i < garbage.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      garbage[i] = x & 0xff;
    }
    appendFileSync(file, Buffer.concat([garbage, Buffer.from('\nINFO after garbage\n')]));
    await h.r.pollNow();
    const newlines = garbage.reduce((n, b) => n + (b === 10 ? 1 : 0), 0);
    const lines = h.r.countOf(file);
    assert.ok(lines >= 2 && lines <= newlines + 3, `${lines} lines from ${newlines} newlines`);
    assert.ok(h.r.status().templates.length <= 200);
    assert.ok((await metricValue(h.settings, 'aiops_agent_filelog_bytes_total')) > 2 * 1024 * 1024);
    await h.r.shutdown();
  });

  it('10k distinct messages: templates stop at max_templates, the rest count as template "other"', async () => {
    const dir = tempDir();
    const file = join(dir, 'distinct.log');
    // Letters only (no digits, so nothing is masked), a different word in every position of every line.
    const enc = (n: number) => {
      let s = '';
      do {
        s += String.fromCharCode(97 + (n % 26));
        n = Math.floor(n / 26);
      } while (n > 0);
      return `w${s}`;
    };
    const text = Array.from({ length: 10_000 }, (_, i) => `${enc(i)} ${enc(i * 7 + 3)} ${enc(i * 13 + 5)} ${enc(i * 31 + 11)}\n`).join('');
    writeFileSync(file, text);
    const h = harness({ include: [`${dir}/*.log`], start_at: 'beginning', max_templates: 500 });
    await h.r.start();
    await h.r.pollNow();
    await h.r.emitNow();
    assert.equal(h.r.countOf(file), 10_000);
    assert.equal(h.r.status().templates.length, 500);
    const other = h.r.countOf(file, { templateId: 'other' });
    assert.equal(other, 9500);
    assert.equal(await dropped(h, 'template_limit'), 9500);
    assert.equal(await metricValue(h.settings, 'aiops_agent_filelog_templates'), 500);
    const seriesCount = h.sink.batches.at(-1)!.samples.filter((s) => s.name === 'log_template_lines_total').length;
    assert.equal(seriesCount, 501);
    await h.r.shutdown();
  });

  it('series beyond max_series fold into template "other" of their file and level', async () => {
    const dir = tempDir();
    const file = join(dir, 's.log');
    writeFileSync(file, ['alpha one', 'beta two', 'gamma three', 'delta four', 'alpha one'].map((l) => `ERROR ${l}\n`).join(''));
    const h = harness({ include: [`${dir}/*.log`], start_at: 'beginning', max_series: 2 });
    await h.r.start();
    await h.r.pollNow();
    await h.r.emitNow();
    const t = h.sink.batches.at(-1)!.samples.filter((s) => s.name === 'log_template_lines_total');
    assert.equal(t.length, 3);
    assert.equal(t.find((s) => s.labels['template_id'] === 'other')?.value, 2);
    assert.equal(await dropped(h, 'series_limit'), 2);
    await h.r.shutdown();
  });

  it('a file replaced by a directory, a deleted file and a dangling link: counted, skipped, no crash', async () => {
    const dir = tempDir();
    const file = join(dir, 'a.log');
    writeFileSync(file, 'INFO one\n');
    symlinkSync(join(dir, 'missing-target'), join(dir, 'dangling.log'));
    mkdirSync(join(dir, 'adir.log'));
    const h = harness({ include: [`${dir}/*.log`], start_at: 'beginning', rotate_wait: '1s' });
    const clock = h.clock as ManualClock;
    await h.r.start();
    await h.r.pollNow();
    assert.equal(h.r.countOf(file), 1);
    assert.equal(await dropped(h, 'not_regular_file'), 1, 'the directory, once');
    appendFileSync(file, 'INFO two\nINFO three\n');
    unlinkSync(file);
    await h.r.pollNow();
    assert.equal(h.r.countOf(file), 3, 'lines written before the deletion are read from the open file');
    assert.equal(await metricValue(h.settings, 'aiops_agent_filelog_rotations_total', { kind: 'delete' }), 1);
    mkdirSync(file);
    clock.advance(1000);
    await h.r.pollNow();
    await h.r.pollNow();
    assert.equal(h.r.status().files.length, 0, 'the deleted file is closed after rotate_wait');
    assert.equal(await metricValue(h.settings, 'aiops_agent_filelog_files_open'), 0);
    assert.equal(await dropped(h, 'not_regular_file'), 2, 'the new directory at the old path, once');
    rmSync(file, { recursive: true });
    writeFileSync(file, 'INFO four\n');
    await h.r.pollNow();
    assert.equal(h.r.countOf(file), 4, 'a file back at the path is read from 0');
    await h.r.shutdown();
  });

  it('max_files bounds the files tracked; the rest are counted once and picked up when room frees', async () => {
    const dir = tempDir();
    for (let i = 0; i < 5; i++) writeFileSync(join(dir, `f${i}.log`), `INFO file ${i}\n`);
    const h = harness({ include: [`${dir}/*.log`], start_at: 'beginning', max_files: 3, rotate_wait: 0 });
    await h.r.start();
    await h.r.pollNow();
    await h.r.pollNow();
    assert.equal(h.r.status().files.length, 3);
    assert.equal(await dropped(h, 'max_files'), 2);
    unlinkSync(join(dir, 'f0.log'));
    unlinkSync(join(dir, 'f1.log'));
    await h.r.pollNow(); // closes the deleted ones
    await h.r.pollNow(); // tracks the waiting ones, from 0 (they appeared after start-up)
    assert.equal(h.r.countOf(join(dir, 'f3.log')) + h.r.countOf(join(dir, 'f4.log')), 2);
    await h.r.shutdown();
  });

  it('an unwritable data folder: checkpoint writes fail and are counted, the counts still flow', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.log'), 'INFO one\n');
    const notAFolder = join(tempDir('filelog-data-'), 'file');
    writeFileSync(notAFolder, '');
    const h = harness({ include: [`${dir}/*.log`], start_at: 'beginning' }, { dataDir: notAFolder });
    await h.r.start();
    await h.r.pollNow();
    await h.r.emitNow();
    await h.r.emitNow();
    assert.equal(sumOf(h.sink, 'log_lines_total'), 1);
    assert.equal(await metricValue(h.settings, 'aiops_agent_filelog_checkpoint_total', { op: 'write', result: 'error' }), 2);
    await h.r.shutdown();
  });

  it('hostile file names (newline, quotes, unicode) are labels like any other', async () => {
    const dir = tempDir();
    const name = join(dir, 'we"ird\nname ☃.log');
    writeFileSync(name, 'INFO x\n');
    const h = harness({ include: [`${dir}/*.log`], start_at: 'beginning' });
    await h.r.start();
    await h.r.pollNow();
    assert.equal(h.r.countOf(name), 1);
    await h.r.shutdown();
  });
});
