// Config of the log-file receiver (keys snake_case, every key defaulted, unknown keys refused).
// Limits bound memory and work per poll: files tracked, bytes per line, bytes read per file per
// poll, templates, series (CONVENTIONS 11).
import { z } from 'zod';
import { byteSize, duration } from '../../../../shared-schemas/src/runtime/index.js';

/** A glob over absolute paths: `*` and `?` match within one path segment; no `**`. */
const globPattern = z
  .string()
  .min(2)
  .max(4096)
  .refine((s) => s.startsWith('/'), { message: 'must be an absolute path (start with "/")' })
  .refine((s) => !s.includes('\0'), { message: 'must not contain NUL' })
  .refine((s) => !s.includes('**'), { message: '"**" is not supported: use "*" per path segment' })
  .refine((s) => !s.endsWith('/'), { message: 'must name files, not a folder (no trailing "/")' });

export const DrainConfigSchema = z
  .object({
    /** Similarity threshold: a line joins a template when at least this share of tokens are equal. */
    sim_th: z.number().min(0).max(1).default(0.4),
    /** Parse-tree depth, Drain semantics (root + token-count layer + depth-3 leading-token layers + leaves). */
    depth: z.number().int().min(3).max(16).default(4),
    /** Children per tree node; beyond, a leading token goes to the `<*>` child. */
    max_children: z.number().int().min(2).max(10_000).default(100),
    /** Tokens of a line considered; longer lines keep the first ones plus `<...>`. */
    max_tokens: z.number().int().min(4).max(1024).default(64),
  })
  .strict();

export const FilelogConfigSchema = z
  .object({
    /** Files to tail: absolute globs, e.g. `/var/log/app/*.log`. */
    include: z.array(globPattern).min(1, 'must list at least one file or glob').max(64),
    /** Files to leave alone, same syntax, matched against the whole path (e.g. `/var/log/app/*.gz`). */
    exclude: z.array(globPattern).max(64).default([]),
    /**
     * Where to start in a file seen for the first time at start-up when no checkpoint knows it:
     * `end` (default) or `beginning`. Files that appear later, and files at a path the checkpoint
     * knew (rotated while the agent was stopped), are always read from the beginning.
     */
    start_at: z.enum(['end', 'beginning']).default('end'),
    /** How often files are checked for new lines, rotation and truncation. */
    poll_interval: duration({ min: 10, max: 3_600_000 }).default(1000),
    /** How often the counters are emitted (and the checkpoint written, when anything changed). */
    interval: duration({ min: 100, max: 3_600_000 }).default(10_000),
    /** A file that left the include globs (rotated away, deleted) is read to its end and closed after this long without growth. */
    rotate_wait: duration({ min: 0, max: 3_600_000 }).default(5000),
    /** Longer lines are truncated to this many bytes (the rest is skipped) and counted. */
    max_line_bytes: byteSize({ min: 256 })
      .refine((n) => n <= 16 * 1024 * 1024, { message: 'must be <= 16MiB' })
      .default(64 * 1024),
    /** Bytes read from one file per poll before moving to the next file (a backlog continues right after). */
    max_bytes_per_poll: byteSize({ min: 4096 }).default(4 * 1024 * 1024),
    /** Files tracked (open) at once, including rotated files still being drained. */
    max_files: z.number().int().min(1).max(10_000).default(256),
    /** Templates kept; lines of new templates beyond this count into `template_id="other"`. */
    max_templates: z.number().int().min(1).max(100_000).default(2000),
    /** `log_template_lines_total` series kept (file x template x level); beyond: `template_id="other"`. */
    max_series: z.number().int().min(1).max(1_000_000).default(20_000),
    /** Input encoding; invalid sequences become U+FFFD and are counted. */
    encoding: z.enum(['utf8', 'utf-8']).default('utf8'),
    /** Value of the `file` label: the path where the file was first seen, or its base name. */
    file_label: z.enum(['path', 'basename']).default('path'),
    /** Emit `log_template_info{template_id,template}` = 1 per template (template text as a label). */
    emit_template_info: z.boolean().default(false),
    /** Template text is cut to this many characters in labels and logs. */
    template_label_max_chars: z.number().int().min(16).max(4096).default(128),
    drain: DrainConfigSchema.prefault({}),
  })
  .strict();

export type FilelogConfig = z.output<typeof FilelogConfigSchema>;
export type DrainConfig = z.output<typeof DrainConfigSchema>;
