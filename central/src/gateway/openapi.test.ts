// The OpenAPI document is generated from the registered routes and kept true by
// checkOpenApiDrift (both directions, over HTTP). The routes here stand in for the components'
// (ARCHITECTURE.md section 7); central's end-to-end test runs the same check on the real set.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import type { Gateway, OpenApiDocument } from './index.js';
import { checkOpenApiDrift, startTestGateway } from './testing/index.js';
import type { TestGateway } from './testing/index.js';

const Labels = z.record(z.string(), z.string()).meta({ id: 'Labels' });
const Alert = z.object({ labels: Labels, annotations: Labels.optional(), startsAt: z.iso.datetime().optional(), fingerprint: z.string().optional() }).meta({ id: 'Alert' });
interface Step {
  name: string;
  children: Step[];
}
const StepSchema: z.ZodType<Step> = z.object({ name: z.string(), get children() { return z.array(StepSchema); } });
const Incident = z.object({ id: z.string(), status: z.enum(['open', 'acknowledged', 'resolved']), alerts: z.array(Alert), services: z.array(z.string()) });

function register(g: Gateway): void {
  const stub = (status: number) => () => ({ status, body: status === 204 ? undefined : {} });
  g.route({ method: 'POST', path: '/api/v1/metrics/write', scope: 'write', summary: 'Write metrics (remote-write protobuf+snappy, or JSON)', tags: ['ingest'], bodyLimitBytes: 8 * 1024 * 1024, rawBody: { contentTypes: ['application/x-protobuf'] }, body: z.object({ samples: z.array(z.object({ labels: Labels, value: z.number(), tsMs: z.number().int() })) }), responses: { 204: { description: 'stored' } }, handler: stub(204) });
  g.route({ method: 'POST', path: '/api/v1/logs/write', scope: 'write', summary: 'Write logs', body: z.object({ lines: z.array(z.object({ ts: z.number(), line: z.string() })).max(10_000) }), responses: { 204: { description: 'stored' } }, handler: stub(204) });
  g.route({ method: 'POST', path: '/api/v1/alerts/ingest', scope: 'write', summary: 'Receive alerts (Alertmanager webhook v4)', body: z.object({ version: z.literal('4'), receiver: z.string(), alerts: z.array(Alert).max(1000) }), responses: { 202: { description: 'accepted', body: z.object({ accepted: z.number().int() }) } }, handler: stub(202) });
  g.route({ method: 'GET', path: '/api/v1/incidents', scope: 'read', summary: 'List incidents', query: z.object({ status: z.enum(['open', 'acknowledged', 'resolved']).optional().describe('only incidents in this status'), limit: z.coerce.number().int().min(1).max(500).default(50) }), responses: { 200: { description: 'incidents', body: z.object({ incidents: z.array(Incident) }) } }, handler: stub(200) });
  g.route({ method: 'GET', path: '/api/v1/incidents/{id}', scope: 'read', summary: 'Incident detail', params: z.object({ id: z.string().min(1).describe('incident id') }), responses: { 200: { description: 'the incident', body: Incident }, 404: { description: 'no such incident' } }, handler: stub(200) });
  g.route({ method: 'GET', path: '/api/v1/metrics/query', scope: 'read', summary: 'Query metrics', query: z.object({ selector: z.string(), start: z.coerce.number(), end: z.coerce.number() }), responses: { 200: { description: 'series' } }, handler: stub(200) });
  g.route({ method: 'PUT', path: '/api/v1/config/detection', scope: 'admin', summary: 'Detection configuration', body: z.object({ tier2: z.object({ threshold: z.number().min(0).max(1) }) }), responses: { 204: { description: 'applied' } }, handler: stub(204) });
  g.route({ method: 'PUT', path: '/api/v1/config/topology', scope: 'admin', summary: 'Topology configuration', body: z.object({ services: z.array(z.string()) }), responses: { 204: { description: 'applied' } }, handler: stub(204) });
  g.route({ method: 'POST', path: '/api/v1/runbooks/{id}/execute', scope: 'approve', summary: 'Execute a runbook', params: z.object({ id: z.string() }), body: z.object({ incidentId: z.string(), steps: z.array(StepSchema).optional() }), audit: { action: 'runbook.execute' }, responses: { 202: { description: 'started', body: z.object({ executionId: z.string() }) } }, handler: stub(202) });
  g.route({ method: 'GET', path: '/api/v1/runbooks/{id}/status', scope: 'read', summary: 'Execution status', params: z.object({ id: z.string() }), responses: { 200: { description: 'status', body: z.object({ state: z.string(), steps: z.array(StepSchema) }) } }, handler: stub(200) });
  g.route({ method: 'DELETE', path: '/api/v1/keys/{id}', scope: 'admin', summary: 'Revoke an API key', params: z.object({ id: z.string() }), responses: { 204: { description: 'revoked' } }, handler: stub(204) });
}

describe('OpenAPI document', () => {
  let t: TestGateway;
  let doc: OpenApiDocument;
  before(async () => {
    t = await startTestGateway({ register, config: { rateLimit: { ratePerSecond: 1000, burst: 1000 } } });
    const res = await fetch(`${t.url}/api/v1/openapi.json`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^application\/json/);
    doc = (await res.json()) as OpenApiDocument;
  });
  after(() => t.close());

  it('is served publicly and equals what the gateway generates', () => {
    assert.deepEqual(doc, JSON.parse(JSON.stringify(t.gateway.openapi())));
    assert.equal(doc.openapi, '3.1.0');
  });

  it('has no drift: every route documented, every documented operation served with its scope', async () => {
    const problems = await checkOpenApiDrift({ baseUrl: t.url, routes: t.gateway.routes(), tokens: t.tokens });
    assert.deepEqual(problems, []);
  });

  it('documents scopes, parameters, bodies and errors', () => {
    const ingest = doc.paths['/api/v1/alerts/ingest']!.post!;
    assert.equal(ingest['x-required-scope'], 'write');
    assert.deepEqual(ingest.security, [{ bearerAuth: ['write'] }, { apiKeyHeader: ['write'] }]);
    const schema = (ingest.requestBody as { content: Record<string, { schema: { properties: Record<string, unknown> } }> }).content['application/json']!.schema;
    assert.deepEqual(Object.keys(schema.properties), ['version', 'receiver', 'alerts']);
    for (const s of ['202', '400', '401', '403', '413', '415', '429', '500']) assert.ok(ingest.responses[s], `response ${s}`);
    const write = doc.paths['/api/v1/metrics/write']!.post!;
    assert.deepEqual(Object.keys((write.requestBody as { content: object }).content).sort(), ['application/json', 'application/x-protobuf']);
    assert.equal(write['x-body-limit-bytes'], 8 * 1024 * 1024);
    const list = doc.paths['/api/v1/incidents']!.get!;
    assert.deepEqual(
      list.parameters!.map((p) => [p.name, p.in, p.required, p.description]),
      [
        ['status', 'query', false, 'only incidents in this status'],
        ['limit', 'query', false, undefined],
      ],
    );
    const detail = doc.paths['/api/v1/incidents/{id}']!.get!;
    assert.deepEqual(detail.parameters, [{ name: 'id', in: 'path', required: true, description: 'incident id', schema: { type: 'string', minLength: 1 } }]);
    assert.ok(detail.responses['404']);
    assert.ok(!detail.responses['413'], 'no body, no 413');
    const health = doc.paths['/healthz']!.get!;
    assert.deepEqual(health.security, []);
    assert.ok(!health.responses['401']);
    assert.equal(doc.components.schemas.Error?.type, 'object');
  });

  it('hoists named and recursive schemas into components; every $ref resolves', () => {
    assert.ok(doc.components.schemas.Alert, 'Alert (meta id) is a component');
    assert.ok(doc.components.schemas.Labels, 'Labels (meta id) is a component');
    const refs: string[] = [];
    const walk = (n: unknown): void => {
      if (Array.isArray(n)) return n.forEach(walk);
      if (n === null || typeof n !== 'object') return;
      for (const [k, v] of Object.entries(n)) {
        if (k === '$ref' && typeof v === 'string') refs.push(v);
        else walk(v);
      }
    };
    walk(doc);
    assert.ok(refs.length > 10);
    for (const ref of refs) {
      assert.ok(ref.startsWith('#/components/'), `${ref} is a document-level ref`);
      const target = ref
        .slice(2)
        .split('/')
        .reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], doc);
      assert.ok(target !== undefined, `${ref} resolves`);
    }
    // The recursive step schema refers to itself through a component.
    const execute = doc.paths['/api/v1/runbooks/{id}/execute']!.post!;
    assert.match(JSON.stringify(execute.requestBody), /#\/components\/schemas\//);
  });

  it('the drift check catches a document that lies (it can fail)', async () => {
    const tampered = JSON.parse(JSON.stringify(doc)) as OpenApiDocument;
    delete tampered.paths['/api/v1/logs/write'];
    tampered.paths['/api/v1/incidents/{id}']!.get!['x-required-scope'] = 'admin';
    tampered.paths['/api/v1/incidents/{id}']!.get!.security = [{ bearerAuth: ['admin'] }, { apiKeyHeader: ['admin'] }];
    tampered.paths['/api/v1/silences'] = { post: { ...doc.paths['/api/v1/logs/write']!.post!, operationId: 'postSilences' } };
    const problems = await checkOpenApiDrift({ baseUrl: t.url, routes: t.gateway.routes(), tokens: t.tokens, document: tampered });
    const joined = problems.join('\n');
    assert.match(joined, /POST \/api\/v1\/logs\/write: registered but not documented/);
    assert.match(joined, /GET \/api\/v1\/incidents\/\{id\}: documented scope admin, registered read/);
    assert.match(joined, /GET \/api\/v1\/incidents\/\{id\}: a read-only key answered (200|500) /);
    assert.match(joined, /POST \/api\/v1\/silences: documented but not registered/);
    assert.match(joined, /POST \/api\/v1\/silences: without a key answered 404/);
  });
});
