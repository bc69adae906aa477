// Configuration of the topology store (issue #8): the embedded graph on central's database (the
// default) or Neo4j, and how long a discovered node or edge lives without being seen again.
import { z } from 'zod';
import { duration } from '../../../shared-schemas/src/runtime/index.js';

export const topologyConfigSchema = z
  .object({
    /** embedded: central's SQLite database; neo4j: a Neo4j 5.23+ server with APOC. */
    store: z.enum(['embedded', 'neo4j']).default('embedded'),
    neo4j: z
      .object({
        /** bolt://host:7687 or neo4j://host:7687 (neo4j+s:// for TLS). */
        url: z
          .string()
          .default('')
          .superRefine((u, ctx) => {
            // Errors show the URL with any userinfo masked: it may hold a password.
            const input = u.replace(/^([a-z+]+:\/\/)[^/@]*@/i, '$1***@');
            if (u === '') return;
            if (/^[a-z+]+:\/\/[^/]*@/i.test(u)) ctx.addIssue({ code: 'custom', message: 'must not contain credentials: use username and password', input });
            else if (!/^(bolt|neo4j)(\+s|\+ssc)?:\/\/[^\s@/]+(:\d+)?\/?$/.test(u)) ctx.addIssue({ code: 'custom', message: 'must be bolt://host:port or neo4j://host:port', input });
          }),
        username: z.string().max(256).default('neo4j'),
        /** From AIOPS_CENTRAL__TOPOLOGY__NEO4J__PASSWORD rather than the file; never printed. */
        password: z.string().max(4096).optional(),
        database: z.string().regex(/^[A-Za-z0-9._-]{1,63}$/).optional(),
      })
      .strict()
      .prefault({}),
    /** A discovered node or edge not seen again for this long is removed (declared ones never are). */
    discovered_ttl: duration({ min: 60_000 }).default(24 * 3_600_000),
    /** How often the stale discoveries are removed. */
    expire_interval: duration({ min: 1000 }).default(300_000),
  })
  .strict()
  .superRefine((t, ctx) => {
    if (t.store === 'neo4j' && t.neo4j.url === '') ctx.addIssue({ code: 'custom', path: ['neo4j', 'url'], message: 'is required when store is neo4j' });
  });

export type TopologyConfig = z.output<typeof topologyConfigSchema>;
