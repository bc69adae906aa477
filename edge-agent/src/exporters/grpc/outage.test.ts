// Issue #3 deliver 4: central (the test AgentIngest server) unreachable for a minute, real
// time, while windows keep coming; then back: every frame arrives, in order, none twice after
// dedup by frame sequence. Takes ~75 s (AIOPS_OUTAGE_SECONDS shortens the outage locally).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { metricValue, testSettings } from '../../testing/index.js';
import { OUTAGE_MS, runOutage } from '../internal/testdata/outage.js';
import { grpcExporterConfigSchema, GrpcExporter } from './index.js';
import { TestIngestServer } from './testdata/ingest-server.js';

describe('grpc exporter: central unreachable for a minute', () => {
  it('delivers every frame produced during the outage, in order, once after dedup', { timeout: OUTAGE_MS + 180_000 }, async () => {
    let server = new TestIngestServer();
    const port = await server.start();
    const recorder = server.recorder;
    const settings = testSettings('grpc');
    const exporter = new GrpcExporter(
      settings,
      grpcExporterConfigSchema.parse({ endpoint: `127.0.0.1:${port}`, tls: { insecure: true }, retry: { max_interval: '5s' }, replay_rate: 20, connect_timeout: '2s' }),
    );
    await exporter.start();
    const r = await runOutage({
      exporter,
      buffer: exporter.frames.buffer,
      recorder: () => recorder,
      stopCentral: () => server.stop(),
      startCentral: async () => {
        server = new TestIngestServer({ recorder });
        await server.start(port);
      },
      log: (m) => process.stderr.write(`[grpc outage] ${m}\n`),
    });
    assert.ok(r.produced >= OUTAGE_MS / 1000);
    assert.ok((await metricValue(settings, 'aiops_agent_exporter_connects_total', { result: 'retryable' })) >= 2, 'reconnect attempts failed while central was down');
    process.stderr.write(`[grpc outage] ${r.produced} frames delivered, ${r.duplicates} duplicates removed by sequence\n`);
    await exporter.shutdown();
    await server.stop();
  });
});
