import { z } from 'zod';

const HOST_FACTS = ['host', 'os', 'kernel', 'machine_id', 'cpus', 'arch'] as const;
export type HostFactName = (typeof HOST_FACTS)[number];

const labelName = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'must be a valid label name');

export const enrichConfigSchema = z
  .object({
    /** Host facts added as labels to every series. */
    host_labels: z.array(z.enum(HOST_FACTS)).default(['host']),
    /** Add k8s_namespace, k8s_pod, k8s_node from downward-API environment variables when set. */
    kubernetes: z.boolean().default(true),
    /** Static labels for every series (env, region, team...). */
    tags: z.record(labelName, z.string().max(1024)).default({}),
    /** Service mapping, first match wins: sets the `service` label when the series has none. */
    services: z
      .array(
        z
          .object({
            service: z.string().min(1).max(256),
            /** Regex on the metric name. */
            metric: z.string().optional(),
            /** Regexes on label values, all must match. */
            labels: z.record(labelName, z.string()).default({}),
          })
          .strict()
          .superRefine((r, ctx) => {
            for (const [path, re] of [['metric', r.metric], ...Object.entries(r.labels).map(([k, v]) => [`labels.${k}`, v])] as Array<[string, string | undefined]>) {
              if (re === undefined) continue;
              try {
                new RegExp(re);
              } catch (e) {
                ctx.addIssue({ code: 'custom', path: path.split('.'), message: `is not a valid regular expression: ${(e as Error).message}`, input: re });
              }
            }
          }),
      )
      .default([]),
    /** When false (default) labels already on a series win over enrichment. */
    override: z.boolean().default(false),
  })
  .strict();

export type EnrichConfig = z.output<typeof enrichConfigSchema>;
