// The Prometheus remote-write 1.0 receiver: POST /api/v1/write, snappy-compressed protobuf
// prometheus.WriteRequest.
//
// Answers follow the remote-write 1.0 specification: Prometheus retries 5xx (and 429 only when
// told to), never other 4xx, so
//   204  accepted
//   400  undecodable body, or some series refused by a per-series check (the rest was accepted:
//        retrying cannot help); text/plain reason
//   413  over max_request_bytes (snappy header), max_series_per_request, max_samples_per_request
//   415  Content-Encoding other than snappy, Content-Type other than application/x-protobuf
//        (or a remote-write 2.0 proto=io.prometheus.write.v2.Request, so a 2.0 sender falls back)
//   405 other methods, 404 other paths
//   503  max_in_flight_requests reached or `next` failed: retryable, with Retry-After
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { ComponentSettings, MetricsConsumer, Receiver } from '../../component.js';
import { AgentError, BadInputError } from '../../errors.js';
import type { BoundCounter, BoundGauge } from '../../../../shared-schemas/src/runtime/index.js';
import { AbortedError, DropLog, listenHttp, mediaType, readBody } from '../otlp/http-support.js';
import type { RemoteWriteReceiverConfig } from './config.js';
import { convertSeries, MetadataCache } from './convert.js';
import { decodeWriteRequest, maxSnappyEncodedLength, snappyDecompressBounded } from './decode.js';
import type { WriteLimits } from './decode.js';

export const REMOTE_WRITE_PATH = '/api/v1/write';

type Outcome =
  | 'success'
  | 'partial'
  | 'bad_request'
  | 'too_large'
  | 'unsupported_media_type'
  | 'method_not_allowed'
  | 'not_found'
  | 'overloaded'
  | 'downstream_error'
  | 'aborted';

class DownstreamError extends Error {
  override name = 'DownstreamError';
}

const SHUTDOWN_DRAIN_MS = 5000;

export class RemoteWriteReceiver implements Receiver {
  /** Bound address after start() (port 0 in config -> the real port here). */
  address: { host: string; port: number } | undefined;

  private server: Server | undefined;
  private inFlight = 0;
  private stopping = false;
  private shutdownPromise: Promise<void> | undefined;
  private readonly metadata: MetadataCache;
  private readonly limits: WriteLimits;
  private readonly dropLog: DropLog;
  private readonly m: {
    requests: BoundCounter;
    bytes: BoundCounter;
    samples: BoundCounter;
    droppedSeries: BoundCounter;
    droppedSamples: BoundCounter;
    ignored: BoundCounter;
    inFlight: BoundGauge;
    families: BoundGauge;
  };

  constructor(
    private readonly settings: ComponentSettings,
    private readonly config: RemoteWriteReceiverConfig,
    private readonly next: MetricsConsumer,
  ) {
    this.metadata = new MetadataCache(config.max_metadata_families);
    this.limits = {
      maxRequestBytes: config.max_request_bytes,
      maxSeries: config.max_series_per_request,
      maxSamples: config.max_samples_per_request,
      maxLabelsPerSeries: config.max_labels_per_series,
      maxLabelNameBytes: config.max_label_name_bytes,
      maxLabelValueBytes: config.max_label_value_bytes,
      maxMetadata: Math.max(1000, config.max_metadata_families),
    };
    this.dropLog = new DropLog(settings.logger, settings.clock, 'remote-write series');
    const mt = settings.metrics;
    this.m = {
      requests: mt.counter('aiops_agent_remotewrite_requests_total', 'Remote-write requests by outcome.', ['outcome']),
      bytes: mt.counter('aiops_agent_remotewrite_received_bytes_total', 'Remote-write request bytes as sent (snappy-compressed).'),
      samples: mt.counter('aiops_agent_remotewrite_accepted_samples_total', 'Remote-write samples handed downstream.'),
      droppedSeries: mt.counter('aiops_agent_remotewrite_dropped_series_total', 'Remote-write series not accepted, by reason.', ['reason']),
      droppedSamples: mt.counter('aiops_agent_remotewrite_dropped_samples_total', 'Samples of remote-write series not accepted, by reason.', ['reason']),
      ignored: mt.counter('aiops_agent_remotewrite_ignored_total', 'Remote-write elements this receiver does not convert (exemplars, native histograms).', ['kind']),
      inFlight: mt.gauge('aiops_agent_remotewrite_in_flight_requests', 'Remote-write requests being read, decoded or handed downstream.'),
      families: mt.gauge('aiops_agent_remotewrite_metadata_families', 'Metric families whose metadata (type, unit) is known.'),
    };
  }

  async start(): Promise<void> {
    if (this.stopping) throw new AgentError('SHUT_DOWN', `${this.settings.id}: cannot start after shutdown`);
    const { server, address } = await listenHttp({
      endpoint: this.config.endpoint,
      requestTimeoutMs: this.config.request_timeout,
      logger: this.settings.logger,
      what: `${this.settings.id}: remote-write`,
      handle: (req, res) => this.handle(req, res),
    });
    if (address) this.address = address;
    this.server = server;
    this.settings.logger.info({ address: this.address }, `${this.settings.id}: remote-write receiver listening`);
  }

  shutdown(): Promise<void> {
    this.shutdownPromise ??= this.doShutdown();
    return this.shutdownPromise;
  }

  private async doShutdown(): Promise<void> {
    this.stopping = true;
    const s = this.server;
    this.server = undefined;
    if (s) {
      s.close();
      const until = Date.now() + SHUTDOWN_DRAIN_MS;
      while (this.inFlight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
    this.dropLog.flush();
  }

  private count(outcome: Outcome): void {
    this.m.requests.inc(1, { outcome });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path !== REMOTE_WRITE_PATH) {
      this.count('not_found');
      return text(res, 404, `not found: remote-write is accepted at POST ${REMOTE_WRITE_PATH}`, true);
    }
    if (req.method !== 'POST') {
      this.count('method_not_allowed');
      res.setHeader('allow', 'POST');
      return text(res, 405, `method ${req.method ?? ''} not allowed: use POST`, true);
    }
    const encoding = (req.headers['content-encoding'] ?? '').trim().toLowerCase();
    if (encoding !== 'snappy') {
      this.count('unsupported_media_type');
      return text(res, 415, `unsupported Content-Encoding "${encoding.slice(0, 100)}": remote-write 1.0 requires snappy`, true);
    }
    const contentType = req.headers['content-type'] ?? '';
    if (mediaType(contentType) !== 'application/x-protobuf') {
      this.count('unsupported_media_type');
      return text(res, 415, `unsupported Content-Type "${contentType.slice(0, 100)}": use application/x-protobuf`, true);
    }
    const proto = /;\s*proto=([^;\s]+)/i.exec(contentType)?.[1]?.replace(/"/g, '');
    if (proto !== undefined && proto !== 'prometheus.WriteRequest') {
      this.count('unsupported_media_type');
      return text(res, 415, `unsupported proto message "${proto.slice(0, 100)}": this receiver speaks remote-write 1.0 (prometheus.WriteRequest)`, true);
    }
    if (this.stopping || this.inFlight >= this.config.max_in_flight_requests) {
      this.count('overloaded');
      res.setHeader('retry-after', '1');
      return text(res, 503, `receiver busy (${this.config.max_in_flight_requests} requests in flight): retry later`, true);
    }
    this.inFlight++;
    this.m.inFlight.set(this.inFlight);
    try {
      const body = await readBody(req, maxSnappyEncodedLength(this.config.max_request_bytes));
      this.m.bytes.inc(body.length);
      const raw = snappyDecompressBounded(body, this.config.max_request_bytes);
      const decoded = decodeWriteRequest(raw, this.limits);
      this.metadata.update(decoded.metadata);
      this.m.families.set(this.metadata.size);
      if (decoded.exemplars > 0) this.m.ignored.inc(decoded.exemplars, { kind: 'exemplar' });
      if (decoded.histograms > 0) this.m.ignored.inc(decoded.histograms, { kind: 'native_histogram' });
      const converted = convertSeries(decoded.series, this.metadata);
      const problems: string[] = [];
      let droppedSeries = 0;
      for (const [reason, d] of decoded.dropped) {
        droppedSeries += d.count;
        this.m.droppedSeries.inc(d.count, { reason });
        this.m.droppedSamples.inc(d.samples, { reason });
        this.dropLog.note(reason, d.count, d.message);
        problems.push(`${reason}: ${d.count} (first: ${d.message})`);
      }
      if (converted.invalid.count > 0) {
        droppedSeries += converted.invalid.count;
        this.m.droppedSeries.inc(converted.invalid.count, { reason: 'invalid_labels' });
        this.m.droppedSamples.inc(converted.invalid.samples, { reason: 'invalid_labels' });
        this.dropLog.note('invalid_labels', converted.invalid.count, converted.invalid.message);
        problems.push(`invalid_labels: ${converted.invalid.count} (first: ${converted.invalid.message})`);
      }
      if (converted.samples.length > 0) {
        try {
          await this.next.consumeMetrics({ source: this.settings.id, samples: converted.samples });
        } catch (err) {
          this.m.droppedSeries.inc(decoded.series.length - converted.invalid.count, { reason: 'downstream' });
          this.m.droppedSamples.inc(converted.samples.length, { reason: 'downstream' });
          this.dropLog.note('downstream', decoded.series.length - converted.invalid.count, err instanceof Error ? err.message : String(err));
          if (err instanceof AgentError && !err.retryable) throw new BadInputError('REFUSED_DOWNSTREAM', `refused by the pipeline: ${err.message}`, 400, { cause: err });
          throw new DownstreamError(`pipeline unavailable: ${err instanceof Error ? err.message : String(err)}`);
        }
        this.m.samples.inc(converted.samples.length);
      }
      if (droppedSeries > 0) {
        this.count('partial');
        const total = decoded.series.length + droppedSeries - converted.invalid.count;
        return text(res, 400, `accepted ${total - droppedSeries} of ${total} series; dropped ${droppedSeries}: ${problems.join('; ')}`.slice(0, 1024), false);
      }
      this.count('success');
      res.writeHead(204).end();
    } catch (err) {
      if (err instanceof BadInputError) {
        this.count(err.status === 413 ? 'too_large' : 'bad_request');
        this.dropLog.note(err.status === 413 ? 'request_too_large' : 'request_malformed', 1, err.message);
        return text(res, err.status, err.message, !req.complete);
      }
      if (err instanceof DownstreamError) {
        this.count('downstream_error');
        res.setHeader('retry-after', '1');
        return text(res, 503, err.message, false);
      }
      if (err instanceof AbortedError) {
        this.count('aborted');
        res.destroy();
        return;
      }
      throw err;
    } finally {
      this.inFlight--;
      this.m.inFlight.set(this.inFlight);
    }
  }
}

function text(res: ServerResponse, status: number, message: string, close: boolean): void {
  const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
  if (close) headers.connection = 'close';
  res.writeHead(status, headers).end(`${message}\n`);
}
