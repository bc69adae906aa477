// An S3-compatible store for the S3 artifact store tests, started by deploy/dev/s3.sh as a
// private instance (startDevPeer: its own state folder and a free port, tried again on fresh
// ports; skipped loudly without it, failed under CI=true).
import { startDevPeer } from '../../../../../edge-agent/src/testing/index.js';
import type { DevPeer } from '../../../../../edge-agent/src/testing/index.js';

export interface S3Peer extends DevPeer {
  endpoint: string;
}

export async function startS3(): Promise<S3Peer> {
  const peer = await startDevPeer({ script: 's3.sh', suites: 'the S3 artifact store tests', env: (port) => ({ S3_PORT: String(port) }) });
  return { ...peer, endpoint: `http://127.0.0.1:${peer.port}` };
}
