// Test certificates made with the openssl CLI (argument arrays, never a shell string; EC P-256
// keys, quick to make): a CA, a server certificate for 127.0.0.1/localhost, client certificates
// whose subject CN is an agent id, and one client certificate from an unrelated CA.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ClientCert {
  cert: string;
  key: string;
}

export interface TestPki {
  dir: string;
  caFile: string;
  serverCert: string;
  serverKey: string;
  /** Client certificates by subject CN, signed by caFile. */
  clients: Record<string, ClientCert>;
  /** A client certificate (CN `stranger`) from another CA. */
  stranger: ClientCert;
}

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed (${r.status}): ${r.stderr}`);
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function ca(dir: string, name: string): void {
  openssl(['req', '-x509', ...EC, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`], dir);
}

function leaf(dir: string, name: string, caName: string, cn: string, ext: string): void {
  openssl(['req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.crt`, '-CAkey', `${caName}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`], dir);
}

export function makeTestPki(clientCns: string[]): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'aiops-mqtt-pki-'));
  const f = (n: string) => join(dir, n);
  ca(dir, 'ca');
  ca(dir, 'other-ca');
  leaf(dir, 'server', 'ca', 'localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  const clients: Record<string, ClientCert> = {};
  clientCns.forEach((cn, i) => {
    leaf(dir, `client-${i}`, 'ca', cn, 'extendedKeyUsage=clientAuth\n');
    clients[cn] = { cert: f(`client-${i}.crt`), key: f(`client-${i}.key`) };
  });
  leaf(dir, 'stranger', 'other-ca', 'stranger', 'extendedKeyUsage=clientAuth\n');
  return { dir, caFile: f('ca.crt'), serverCert: f('server.crt'), serverKey: f('server.key'), clients, stranger: { cert: f('stranger.crt'), key: f('stranger.key') } };
}
