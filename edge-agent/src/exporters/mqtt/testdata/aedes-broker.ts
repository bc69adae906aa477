// An in-process aedes broker for the mqtt exporter tests, shaped like central's embedded one:
// username/password authentication, an ACL that lets an agent publish only under its own id
// and read only its own config, and central's consumer subscribed in-process (before any
// listener opens, so nothing PUBACKed can be missed). Can listen over TCP or TLS (mTLS).
import { createServer as createNetServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes } from 'aedes';
import type { AedesPublishPacket } from 'aedes';
import { IngestRecorder } from '../../internal/testdata/ingest-recorder.js';

export interface BrokerOptions {
  users?: Record<string, string>;
  tls?: { cert: Buffer; key: Buffer; ca?: Buffer; requestCert?: boolean };
  tenant?: string;
}

export class TestBroker {
  readonly recorder = new IngestRecorder();
  readonly heartbeats: Buffer[] = [];
  readonly connects: Array<{ clientId: string; clean: boolean; username: string | undefined }> = [];
  deniedPublishes: string[] = [];
  authFailures = 0;
  broker!: Aedes;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly streams = new Map<string, ReturnType<IngestRecorder['stream']>>();
  port = 0;

  constructor(private readonly opts: BrokerOptions = {}) {}

  async start(port = 0): Promise<number> {
    const users = this.opts.users;
    const tenant = this.opts.tenant ?? 'test';
    this.broker = await Aedes.createBroker({
      preConnect: (client, packet, cb) => {
        this.connects.push({ clientId: packet.clientId, clean: packet.clean ?? true, username: packet.username });
        cb(null, true);
      },
      authenticate: (_client, username, password, done) => {
        if (users === undefined) return done(null, true);
        if (username !== undefined && users[username] !== undefined && password?.toString() === users[username]) return done(null, true);
        this.authFailures++;
        const err = Object.assign(new Error('bad username or password'), { returnCode: 4 as const });
        return done(err, null);
      },
      authorizePublish: (client, packet, cb) => {
        const own = `aiops/v1/${tenant}/agents/${client?.id ?? ''}/`;
        if (client && !packet.topic.startsWith(own)) {
          this.deniedPublishes.push(packet.topic);
          return cb(new Error(`client ${client.id} may not publish to ${packet.topic}`));
        }
        cb(null);
      },
      authorizeSubscribe: (client, sub, cb) => {
        // A negated subscription answers SUBACK 0x80 (an error would disconnect the client).
        if (sub.topic !== `aiops/v1/${tenant}/agents/${client.id}/config`) return cb(null, null);
        cb(null, sub);
      },
    });
    // Central's consumer, in-process: one dictionary decoder per agent.
    await new Promise<void>((r) =>
      this.broker.subscribe(
        'aiops/v1/+/agents/+/+',
        (packet: AedesPublishPacket, cb: () => void) => {
          const parts = packet.topic.split('/');
          const agent = parts[4]!;
          const kind = parts[5];
          if (kind === 'features') {
            let s = this.streams.get(agent);
            if (!s) this.streams.set(agent, (s = this.recorder.stream()));
            s.accept(packet.payload as Buffer);
          } else if (kind === 'heartbeat') {
            this.heartbeats.push(packet.payload as Buffer);
          }
          cb();
        },
        () => r(),
      ),
    );
    return this.listen(port);
  }

  /** Opens (or re-opens) the listener. */
  async listen(port = this.port): Promise<number> {
    const handle = (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      this.broker.handle(s);
    };
    const t = this.opts.tls;
    const server = t ? createTlsServer({ cert: t.cert, key: t.key, ...(t.ca ? { ca: t.ca } : {}), requestCert: t.requestCert ?? false, rejectUnauthorized: true }, handle) : createNetServer(handle);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as { port: number }).port;
    return this.port;
  }

  /** Closes the listener and cuts every connection (the broker's state stays). */
  async unlisten(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    for (const sock of this.sockets) sock.destroy();
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  async publishRetained(topic: string, payload: Buffer): Promise<void> {
    await new Promise<void>((resolve, reject) =>
      this.broker.publish({ cmd: 'publish', topic, payload, qos: 1, retain: true, dup: false }, (err) => (err ? reject(err) : resolve())),
    );
  }

  async stop(): Promise<void> {
    await this.unlisten();
    await new Promise<void>((r) => this.broker.close(() => r()));
  }
}
