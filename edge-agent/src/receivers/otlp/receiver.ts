// The OTLP metrics receiver: OTLP/HTTP (POST /v1/metrics, protobuf or JSON, optionally gzip)
// and OTLP/gRPC (MetricsService/Export), both feeding one converter and one `next`.
//
// Answers follow the OTLP specification (protocol/otlp.md):
//   200 / OK                   ExportMetricsServiceResponse; partial_success when points were refused
//   400 / INVALID_ARGUMENT     undecodable body (not retryable)
//   413 / RESOURCE_EXHAUSTED   over max_request_bytes, max_elements or max_data_points
//   415                        content type or encoding not supported; 405 other methods; 404 other paths
//   503 / UNAVAILABLE          max_in_flight_requests reached, or `next` failed (retryable, Retry-After)
// Error bodies are google.rpc.Status in the request's encoding (protobuf or JSON).
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import type { ComponentSettings, MetricsConsumer, Receiver } from '../../component.js';
import { AgentError, BadInputError } from '../../errors.js';
import type { BoundCounter, BoundGauge } from '../../../../shared-schemas/src/runtime/index.js';
import type { OtlpReceiverConfig } from './config.js';
import { convertRequest, DeltaTotals, resourceLabelMap } from './convert.js';
import type { ConvertOptions, ConvertResult } from './convert.js';
import { decodeJsonRequest, decodeProtobufRequest, gunzipBounded } from './decode.js';
import type { DecodeLimits } from './decode.js';
import { AbortedError, DropLog, listenHttp, mediaType, parseHostPort, readBody } from './http-support.js';
import { EXPORT_PATH, GrpcCode, otlpTypes } from './otlp-proto.js';

export const OTLP_HTTP_PATH = '/v1/metrics';

type Format = 'protobuf' | 'json';
type Transport = 'http' | 'grpc';
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
  | 'aborted'
  | 'internal_error';

/** `next` failed; the client may retry (503 / UNAVAILABLE). */
class DownstreamError extends Error {
  override name = 'DownstreamError';
}

interface Accepted {
  rejected: number;
  errorMessage: string;
}

const SHUTDOWN_DRAIN_MS = 5000;

export class OtlpReceiver implements Receiver {
  /** Bound addresses after start() (port 0 in config -> the real port here). */
  httpAddress: { host: string; port: number } | undefined;
  grpcAddress: { host: string; port: number } | undefined;

  private httpServer: Server | undefined;
  private grpcServer: grpc.Server | undefined;
  private inFlight = 0;
  private stopping = false;
  private shutdownPromise: Promise<void> | undefined;
  private readonly deltas: DeltaTotals;
  private readonly limits: DecodeLimits;
  private readonly convertOptions: ConvertOptions;
  private readonly dropLog: DropLog;
  private readonly m: {
    requests: BoundCounter;
    bytes: BoundCounter;
    samples: BoundCounter;
    dropped: BoundCounter;
    inFlight: BoundGauge;
    deltaSeries: BoundGauge;
    deltaEvicted: BoundCounter;
  };

  constructor(
    private readonly settings: ComponentSettings,
    private readonly config: OtlpReceiverConfig,
    private readonly next: MetricsConsumer,
  ) {
    this.deltas = new DeltaTotals(config.max_delta_series);
    this.limits = { maxRequestBytes: config.max_request_bytes, maxElements: config.max_elements, maxDataPoints: config.max_data_points };
    this.convertOptions = {
      maxDataPoints: config.max_data_points,
      maxLabelsPerSeries: config.max_labels_per_series,
      maxLabelNameBytes: config.max_label_name_bytes,
      maxLabelValueBytes: config.max_label_value_bytes,
      resourceLabels: resourceLabelMap(config.resource_labels),
    };
    this.dropLog = new DropLog(settings.logger, settings.clock, 'OTLP data points');
    const mt = settings.metrics;
    this.m = {
      requests: mt.counter('aiops_agent_otlp_requests_total', 'OTLP export requests by transport and outcome.', ['transport', 'outcome']),
      bytes: mt.counter(
        'aiops_agent_otlp_received_bytes_total',
        'OTLP request bytes: HTTP bodies as sent (encoding gzip|identity), gRPC messages after grpc-level decompression (encoding grpc).',
        ['transport', 'encoding'],
      ),
      samples: mt.counter('aiops_agent_otlp_accepted_samples_total', 'Samples produced from OTLP data points and handed downstream.'),
      dropped: mt.counter('aiops_agent_otlp_dropped_points_total', 'OTLP data points not turned into samples, by reason.', ['reason']),
      inFlight: mt.gauge('aiops_agent_otlp_in_flight_requests', 'OTLP requests being read, decoded or handed downstream.'),
      deltaSeries: mt.gauge('aiops_agent_otlp_delta_series', 'Delta-temporality series whose running total is kept.'),
      deltaEvicted: mt.counter('aiops_agent_otlp_delta_series_evicted_total', 'Delta series running totals evicted at max_delta_series (their next point restarts from zero).'),
    };
  }

  async start(): Promise<void> {
    if (this.stopping) throw new AgentError('SHUT_DOWN', `${this.settings.id}: cannot start after shutdown`);
    try {
      if (this.config.http) await this.startHttp(this.config.http.endpoint);
      if (this.config.grpc) await this.startGrpc(this.config.grpc.endpoint);
    } catch (err) {
      await this.closeServers();
      throw err;
    }
    this.settings.logger.info(
      { http: this.httpAddress, grpc: this.grpcAddress },
      `${this.settings.id}: OTLP receiver listening`,
    );
  }

  shutdown(): Promise<void> {
    this.shutdownPromise ??= this.doShutdown();
    return this.shutdownPromise;
  }

  private async doShutdown(): Promise<void> {
    this.stopping = true;
    // Stop accepting, let in-flight requests reach `next` (it is still running: upstream-first).
    this.httpServer?.close();
    const until = Date.now() + SHUTDOWN_DRAIN_MS;
    while (this.inFlight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    await this.closeServers();
    this.dropLog.flush();
  }

  private async closeServers(): Promise<void> {
    const http = this.httpServer;
    const g = this.grpcServer;
    this.httpServer = undefined;
    this.grpcServer = undefined;
    if (http) {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
    if (g) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          g.forceShutdown();
          resolve();
        }, 1000);
        g.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  // ---- HTTP ----

  private async startHttp(endpoint: string): Promise<void> {
    const { server, address } = await listenHttp({
      endpoint,
      requestTimeoutMs: this.config.request_timeout,
      logger: this.settings.logger,
      what: `${this.settings.id}: OTLP/HTTP`,
      handle: (req, res) => this.handleHttp(req, res),
    });
    if (address) this.httpAddress = address;
    this.httpServer = server;
  }

  private count(transport: Transport, outcome: Outcome): void {
    this.m.requests.inc(1, { transport, outcome });
  }

  private async handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path !== OTLP_HTTP_PATH) {
      this.count('http', 'not_found');
      sendText(res, 404, `not found: OTLP metrics are accepted at POST ${OTLP_HTTP_PATH}\n`, { connection: 'close' });
      return;
    }
    if (req.method !== 'POST') {
      this.count('http', 'method_not_allowed');
      sendText(res, 405, `method ${req.method ?? ''} not allowed: use POST\n`, { allow: 'POST', connection: 'close' });
      return;
    }
    const type = mediaType(req.headers['content-type']);
    const format: Format | undefined = type === 'application/x-protobuf' ? 'protobuf' : type === 'application/json' ? 'json' : undefined;
    if (format === undefined) {
      this.count('http', 'unsupported_media_type');
      sendText(res, 415, `unsupported content type "${type.slice(0, 100)}": use application/x-protobuf or application/json\n`, { connection: 'close' });
      return;
    }
    const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (encoding !== 'identity' && encoding !== 'gzip' && encoding !== '') {
      this.count('http', 'unsupported_media_type');
      this.sendStatus(res, format, 415, GrpcCode.INVALID_ARGUMENT, `unsupported content encoding "${encoding.slice(0, 100)}": use gzip or none`, true);
      return;
    }
    if (this.stopping || this.inFlight >= this.config.max_in_flight_requests) {
      this.count('http', 'overloaded');
      res.setHeader('retry-after', '1');
      this.sendStatus(res, format, 503, GrpcCode.UNAVAILABLE, `receiver busy (${this.config.max_in_flight_requests} requests in flight): retry later`, true);
      return;
    }
    this.enter();
    try {
      const body = await readBody(req, this.config.max_request_bytes);
      this.m.bytes.inc(body.length, { transport: 'http', encoding: encoding === 'gzip' ? 'gzip' : 'identity' });
      const raw = encoding === 'gzip' ? await gunzipBounded(body, this.config.max_request_bytes) : body;
      const decoded = format === 'protobuf' ? decodeProtobufRequest(raw, this.limits) : decodeJsonRequest(raw, this.limits);
      const accepted = await this.ingest(decoded);
      this.count('http', accepted.rejected > 0 ? 'partial' : 'success');
      this.sendResponse(res, format, accepted);
    } catch (err) {
      if (err instanceof BadInputError) {
        this.count('http', err.status === 413 ? 'too_large' : 'bad_request');
        this.dropLog.note(err.status === 413 ? 'request_too_large' : 'request_malformed', 1, err.message);
        this.sendStatus(res, format, err.status, err.status === 413 ? GrpcCode.RESOURCE_EXHAUSTED : GrpcCode.INVALID_ARGUMENT, err.message, !req.complete);
      } else if (err instanceof DownstreamError) {
        this.count('http', 'downstream_error');
        res.setHeader('retry-after', '1');
        this.sendStatus(res, format, 503, GrpcCode.UNAVAILABLE, err.message, false);
      } else if (err instanceof AbortedError) {
        this.count('http', 'aborted');
        res.destroy();
      } else {
        throw err;
      }
    } finally {
      this.leave();
    }
  }

  private sendResponse(res: ServerResponse, format: Format, accepted: Accepted): void {
    const partial = accepted.rejected > 0 ? { rejectedDataPoints: accepted.rejected, errorMessage: accepted.errorMessage } : undefined;
    if (format === 'json') {
      const body = partial ? { partialSuccess: { rejectedDataPoints: String(partial.rejectedDataPoints), errorMessage: partial.errorMessage } } : {};
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    } else {
      const bytes = otlpTypes().response.encode(partial ? { partialSuccess: partial } : {}).finish();
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(bytes);
    }
  }

  /** google.rpc.Status in the request's encoding. `close`: the body was not read to its end. */
  private sendStatus(res: ServerResponse, format: Format, status: number, code: number, message: string, close: boolean): void {
    const headers: Record<string, string> = {};
    if (close) headers.connection = 'close';
    if (format === 'json') {
      headers['content-type'] = 'application/json';
      res.writeHead(status, headers).end(JSON.stringify({ code, message }));
    } else {
      headers['content-type'] = 'application/x-protobuf';
      res.writeHead(status, headers).end(otlpTypes().status.encode({ code, message }).finish());
    }
  }

  // ---- gRPC ----

  private async startGrpc(endpoint: string): Promise<void> {
    const server = new grpc.Server({
      'grpc.max_receive_message_length': this.config.max_request_bytes,
      'grpc.max_send_message_length': 1024 * 1024,
      'grpc.max_concurrent_streams': Math.max(4, this.config.max_in_flight_requests * 2),
      interceptors: [this.grpcOutcomeInterceptor],
    });
    const identity = (b: Buffer): Buffer => b;
    const service: grpc.ServiceDefinition = {
      Export: {
        path: EXPORT_PATH,
        requestStream: false,
        responseStream: false,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
        originalName: 'export',
      },
    };
    server.addService(service, {
      Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        this.handleGrpc(call.request, callback).catch((err: unknown) => {
          this.settings.logger.error({ err }, `${this.settings.id}: unexpected error answering an OTLP/gRPC request`);
          this.count('grpc', 'internal_error');
          callback({ code: grpc.status.INTERNAL, details: 'internal error' });
        });
      },
    });
    const { host, port } = parseHostPort(endpoint);
    const target = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    const bound = await new Promise<number>((resolve, reject) => {
      server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
    });
    this.grpcServer = server;
    this.grpcAddress = { host, port: bound };
  }

  /**
   * Counts calls that grpc-js refuses before our handler runs (a message over
   * max_receive_message_length, also after decompression; a corrupt compressed message). grpc-js
   * sends those statuses from its base call, below the interceptor chain, so the base call's
   * sendStatus is wrapped on the instance (internal calls go through `this.sendStatus`).
   */
  private readonly grpcOutcomeInterceptor: grpc.ServerInterceptor = (_method, call) => {
    let received = false;
    const base = call as unknown as { sendStatus: (status: { code: number; details?: string }) => void };
    const original = base.sendStatus.bind(call);
    base.sendStatus = (status) => {
      if (!received && status.code !== grpc.status.OK && status.code !== grpc.status.CANCELLED) {
        const tooBig = status.code === grpc.status.RESOURCE_EXHAUSTED;
        this.count('grpc', tooBig ? 'too_large' : 'bad_request');
        this.dropLog.note(tooBig ? 'request_too_large' : 'request_malformed', 1, status.details ?? '');
      }
      original(status);
    };
    return new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMessage: (message, nxt) => {
            received = true;
            nxt(message);
          },
        });
      },
    });
  };

  private async handleGrpc(request: Buffer, callback: grpc.sendUnaryData<Buffer>): Promise<void> {
    if (this.stopping || this.inFlight >= this.config.max_in_flight_requests) {
      this.count('grpc', 'overloaded');
      callback({ code: grpc.status.UNAVAILABLE, details: `receiver busy (${this.config.max_in_flight_requests} requests in flight): retry later` });
      return;
    }
    this.enter();
    try {
      this.m.bytes.inc(request.length, { transport: 'grpc', encoding: 'grpc' });
      const accepted = await this.ingest(decodeProtobufRequest(request, this.limits));
      this.count('grpc', accepted.rejected > 0 ? 'partial' : 'success');
      const partial = accepted.rejected > 0 ? { partialSuccess: { rejectedDataPoints: accepted.rejected, errorMessage: accepted.errorMessage } } : {};
      callback(null, Buffer.from(otlpTypes().response.encode(partial).finish()));
    } catch (err) {
      if (err instanceof BadInputError) {
        this.count('grpc', err.status === 413 ? 'too_large' : 'bad_request');
        this.dropLog.note(err.status === 413 ? 'request_too_large' : 'request_malformed', 1, err.message);
        callback({ code: err.status === 413 ? grpc.status.RESOURCE_EXHAUSTED : grpc.status.INVALID_ARGUMENT, details: err.message });
      } else if (err instanceof DownstreamError) {
        this.count('grpc', 'downstream_error');
        callback({ code: grpc.status.UNAVAILABLE, details: err.message });
      } else {
        throw err;
      }
    } finally {
      this.leave();
    }
  }

  // ---- shared ----

  private enter(): void {
    this.inFlight++;
    this.m.inFlight.set(this.inFlight);
  }

  private leave(): void {
    this.inFlight--;
    this.m.inFlight.set(this.inFlight);
  }

  /** Converts, accounts and hands the samples downstream. */
  private async ingest(decoded: unknown): Promise<Accepted> {
    const evictedBefore = this.deltas.evictions;
    const r = convertRequest(decoded, this.convertOptions, this.deltas);
    if (this.deltas.evictions > evictedBefore) this.m.deltaEvicted.inc(this.deltas.evictions - evictedBefore);
    this.m.deltaSeries.set(this.deltas.size);
    this.account(r);
    if (r.samples.length > 0) {
      try {
        await this.next.consumeMetrics({ source: this.settings.id, samples: r.samples });
      } catch (err) {
        this.m.dropped.inc(r.points - r.rejected - r.noValue - r.duplicates, { reason: 'downstream' });
        this.dropLog.note('downstream', r.samples.length, err instanceof Error ? err.message : String(err));
        if (err instanceof AgentError && !err.retryable) {
          throw new BadInputError('REFUSED_DOWNSTREAM', `refused by the pipeline: ${err.message}`, 400, { cause: err });
        }
        throw new DownstreamError(`pipeline unavailable: ${err instanceof Error ? err.message : String(err)}`);
      }
      this.m.samples.inc(r.samples.length);
    }
    return { rejected: r.rejected, errorMessage: errorMessage(r) };
  }

  private account(r: ConvertResult): void {
    for (const [reason, { count, message }] of r.reasons) {
      this.m.dropped.inc(count, { reason });
      this.dropLog.note(reason, count, message);
    }
    if (r.noValue > 0) this.m.dropped.inc(r.noValue, { reason: 'no_recorded_value' });
  }
}

function errorMessage(r: ConvertResult): string {
  if (r.rejected === 0) return '';
  const parts: string[] = [];
  for (const [reason, { count, message }] of r.reasons) {
    if (reason === 'delta_duplicate') continue;
    parts.push(`${reason}: ${count} (first: ${message})`);
  }
  const text = `rejected ${r.rejected} of ${r.points} data points; ${parts.join('; ')}`;
  return text.length > 1024 ? `${text.slice(0, 1021)}...` : text;
}

function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers }).end(text);
}
