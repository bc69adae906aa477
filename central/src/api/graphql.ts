// POST /graphql: the topology API (issue #8, Deliver 3). A read key may query; a mutation needs
// the admin scope. Every request is parsed and validated with a depth and a cost limit before
// anything runs (central/src/topology/graphql.ts); the answer is GraphQL's own shape:
// 200 with `data` (and `errors` for failed fields), 400 for a request that does not validate,
// 403 for a mutation without admin.
import { z } from 'zod';
import type { GraphQLSchema } from 'graphql/index.js';
import { scopeAllows } from '../gateway/index.js';
import type { Gateway } from '../gateway/index.js';
import { executeGraphql } from '../topology/graphql.js';
import { tenantOf } from './common.js';

export interface GraphqlRoutesDeps {
  /** The schema of the configured backend (built once, on first use). */
  schema(): Promise<GraphQLSchema>;
}

const Body = z
  .object({
    query: z.string().min(1).max(100_000),
    variables: z.record(z.string(), z.unknown()).nullable().optional(),
    operationName: z.string().max(256).nullable().optional(),
    extensions: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

const GraphqlOut = z.object({
  data: z.unknown().optional(),
  errors: z.array(z.object({ message: z.string(), path: z.array(z.union([z.string(), z.number()])).optional() })).optional(),
});

export function registerGraphqlRoutes(gateway: Gateway, deps: GraphqlRoutesDeps): void {
  gateway.route({
    method: 'POST',
    path: '/graphql',
    scope: 'read',
    summary: 'The topology over GraphQL (queries: read scope; mutations: admin)',
    description: 'Query the service topology: topologyNode, topologyNodes, downstream, upstream, blastRadius, shortestPath, neighbourhood; mutation declareTopology. Depth and cost are limited.',
    tags: ['topology'],
    body: Body,
    bodyLimitBytes: 256 * 1024,
    responses: {
      200: { description: 'Executed (field errors in `errors`)', body: GraphqlOut },
      400: { description: 'The request does not parse or validate (including the depth and cost limits)', body: GraphqlOut },
      403: { description: 'A mutation without the admin scope', body: GraphqlOut },
    },
    handler: async (ctx) => {
      const principal = ctx.principal!;
      const out = await executeGraphql(await deps.schema(), ctx.body, { tenant: tenantOf(principal), actor: `key:${principal.keyId}`, canMutate: scopeAllows(principal.scopes, 'admin') });
      return { status: out.status, body: out.body };
    },
  });
}
