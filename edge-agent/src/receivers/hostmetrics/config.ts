// Config of the host metrics receiver (keys snake_case, every key defaulted, unknown keys refused).
// Defaults follow prometheus-node-exporter 1.5 so that the same host gives the same series.
import { z } from 'zod';
import { byteSize, duration } from '../../../../shared-schemas/src/runtime/index.js';

export const COLLECTORS = ['cpu', 'load', 'memory', 'disk', 'filesystem', 'network', 'processes'] as const;
export type CollectorName = (typeof COLLECTORS)[number];

/** node_exporter's --collector.diskstats.device-exclude: partitions, loop, ram and floppy devices. */
export const DEFAULT_DISK_EXCLUDE = '^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\\d+n\\d+p)\\d+$';
/** node_exporter's --collector.filesystem.fs-types-exclude, as a list. */
export const DEFAULT_FS_TYPES_EXCLUDE = [
  'autofs', 'binfmt_misc', 'bpf', 'cgroup', 'cgroup2', 'configfs', 'debugfs', 'devpts', 'devtmpfs', 'fusectl',
  'hugetlbfs', 'iso9660', 'mqueue', 'nsfs', 'overlay', 'proc', 'procfs', 'pstore', 'rpc_pipefs', 'securityfs',
  'selinuxfs', 'squashfs', 'sysfs', 'tracefs',
];
/** node_exporter's upstream --collector.filesystem.mount-points-exclude. */
export const DEFAULT_MOUNT_POINTS_EXCLUDE = '^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)';
/** The /proc/meminfo fields emitted by default; `["*"]` emits every field. */
export const DEFAULT_MEMORY_FIELDS = [
  'MemTotal', 'MemFree', 'MemAvailable', 'Buffers', 'Cached', 'SwapCached', 'Active', 'Inactive', 'Dirty',
  'Writeback', 'Shmem', 'Slab', 'SReclaimable', 'AnonPages', 'Mapped', 'Committed_AS', 'CommitLimit', 'SwapTotal', 'SwapFree',
];

const regex = (fallback: string) =>
  z
    .string()
    .refine(
      (s) => {
        try {
          new RegExp(s);
          return true;
        } catch {
          return false;
        }
      },
      { message: 'must be a valid regular expression' },
    )
    .default(fallback);

export const HostmetricsConfigSchema = z
  .object({
    /** Collection period. */
    interval: duration({ min: 1000, max: 3_600_000 }).default(10_000),
    /** Where procfs is mounted (a containerised agent reads the host's at e.g. /host/proc). */
    proc_root: z.string().min(1).default('/proc'),
    /** Where sysfs is mounted (used for network interface state). */
    sys_root: z.string().min(1).default('/sys'),
    /** Prefix for statfs() of each mount point (a containerised agent: /host). */
    rootfs: z.string().min(1).default('/'),
    /** Which collectors run. */
    collectors: z.array(z.enum(COLLECTORS)).min(1).default([...COLLECTORS]),
    /**
     * Clock ticks per second of /proc/stat (USER_HZ, `getconf CLK_TCK`). The kernel exports
     * /proc/stat in USER_HZ, which is 100 on every mainstream Linux architecture whatever the
     * kernel's internal HZ; node_exporter assumes the same.
     */
    clock_ticks: z.number().int().min(1).max(100_000).default(100),
    /** Largest /proc file read, in bytes (beyond: the rest is ignored and counted as too_large). */
    max_file_bytes: byteSize({ min: 4096 }).default(4 * 1024 * 1024),
    /** Samples per collection (beyond: dropped and counted as limit). */
    max_samples: z.number().int().min(1).max(1_000_000).default(20_000),
    memory: z
      .object({ fields: z.array(z.string().regex(/^(\*|[A-Za-z0-9_()]+)$/)).min(1).default(DEFAULT_MEMORY_FIELDS) })
      .strict()
      .prefault({}),
    disk: z.object({ exclude_devices: regex(DEFAULT_DISK_EXCLUDE) }).strict().prefault({}),
    filesystem: z
      .object({
        exclude_fs_types: z.array(z.string().min(1)).default(DEFAULT_FS_TYPES_EXCLUDE),
        exclude_mount_points: regex(DEFAULT_MOUNT_POINTS_EXCLUDE),
        /** A mount whose statfs() takes longer is skipped this round (and until that call returns). */
        /** Default: 2 s, or half the interval when that is shorter. */
        statfs_timeout: duration({ min: 10, max: 60_000 }).optional(),
        /**
         * statfs() calls in flight at once, and the number of hung calls tolerated: each holds one
         * libuv pool thread, so once this many hang only mounts that answered before are asked.
         */
        statfs_concurrency: z.number().int().min(1).max(16).default(2),
        max_mounts: z.number().int().min(1).max(100_000).default(500),
      })
      .strict()
      .prefault({}),
    network: z.object({ exclude_devices: regex('^lo$') }).strict().prefault({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.filesystem.statfs_timeout !== undefined && c.filesystem.statfs_timeout >= c.interval) {
      ctx.addIssue({ code: 'custom', path: ['filesystem', 'statfs_timeout'], message: `must be shorter than interval (${c.interval} ms)`, input: c.filesystem.statfs_timeout });
    }
  })
  .transform((c) => ({
    ...c,
    filesystem: { ...c.filesystem, statfs_timeout: c.filesystem.statfs_timeout ?? Math.min(2_000, Math.floor(c.interval / 2)) },
  }));

export type HostmetricsConfig = z.output<typeof HostmetricsConfigSchema>;
