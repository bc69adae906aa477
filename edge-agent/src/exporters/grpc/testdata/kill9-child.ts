// Child process of the kill -9 test: a grpc exporter with its sql.js buffer in `dataDir`,
// fed one window every `everyMs`. Prints JSON lines: {"event":"window","maxSeq":N} after each
// window is in the buffer, {"event":"flushed","maxSeq":N} after each buffer write to disk.
// SIGTERM shuts it down cleanly. Usage: node --import tsx kill9-child.ts <dataDir> <port> <everyMs>
import { systemClock } from '../../../component.js';
import { silentLogger } from '../../../../../shared-schemas/src/runtime/index.js';
import { SelfMetrics } from '../../../../../shared-schemas/src/runtime/index.js';
import { makeWindow } from '../../internal/testdata/windows.js';
import { grpcExporterConfigSchema, GrpcExporter } from '../index.js';

const [dataDir, port, every] = process.argv.slice(2);
const out = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
const metrics = new SelfMetrics();
const settings = {
  id: 'grpc',
  logger: silentLogger(),
  metrics: metrics.forComponent('grpc'),
  clock: systemClock,
  agent: { agentId: 'kill9-agent', tenant: 'test', dataDir: dataDir! },
};
const exporter = new GrpcExporter(
  settings,
  grpcExporterConfigSchema.parse({ endpoint: `127.0.0.1:${port}`, tls: { insecure: true }, retry: { initial_interval: '100ms', max_interval: '300ms' }, connect_timeout: '1s', buffer: { flush_interval: '1s' } }),
  { onBufferFlushed: (info) => out({ event: 'flushed', maxSeq: info.maxSeq, frames: info.frames }) },
);
let stopping = false;
process.on('SIGTERM', () => {
  stopping = true;
  void exporter.shutdown().then(() => process.exit(0));
});
void (async () => {
  await exporter.start();
  out({ event: 'started', maxSeq: exporter.frames.buffer.maxSeq, buffered: exporter.frames.buffer.size });
  for (let i = 0; !stopping; i++) {
    await exporter.consumeWindow(makeWindow(i, 5));
    out({ event: 'window', maxSeq: exporter.frames.buffer.maxSeq });
    await new Promise((r) => setTimeout(r, Number(every)));
  }
})();
