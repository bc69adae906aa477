// A labelled synthetic log corpus for template-mining tests and measurements: each line is made
// from one of 40 known templates (sshd, systemd, kernel, cron, nginx, app text and pino JSON, klog,
// PostgreSQL, Spring, HDFS-style), with the variables logs really carry (IPs, ports, ids,
// durations, users from a small set, paths, hex, UUIDs, words from small sets). Template
// frequencies are Zipf-like, as in real logs. Deterministic for a given seed (xorshift32).

export interface Corpus {
  lines: string[];
  /** Index of the template that made each line (the ground truth for grouping accuracy). */
  truth: number[];
}

export function generateCorpus(n: number, seed = 12345): Corpus {
  let s = seed | 0 || 1;
  const rnd = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) % 1_000_000) / 1_000_000;
  };
  const pick = <T>(a: T[]): T => a[Math.floor(rnd() * a.length)]!;
  const int = (a: number, b: number) => a + Math.floor(rnd() * (b - a));
  const ip = () => `${int(1, 255)}.${int(0, 255)}.${int(0, 255)}.${int(1, 255)}`;
  const names = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'];
  const suffixes = ['x', 'y', 'z', 'q', 'w'];
  const users = Array.from({ length: 40 }, (_, i) => names[i % 8]! + (i >= 8 ? suffixes[i % 5]! : ''));
  const hex = (n: number) => Array.from({ length: n }, () => '0123456789abcdef'[int(0, 16)]).join('');
  const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
  const ts = () => `2026-01-${String(int(1, 28)).padStart(2, '0')}T${String(int(0, 24)).padStart(2, '0')}:${String(int(0, 60)).padStart(2, '0')}:${String(int(0, 60)).padStart(2, '0')}.${String(int(0, 1000)).padStart(3, '0')}Z`;
  const sys = () => `Jan ${String(int(1, 28)).padStart(2, ' ')} ${String(int(0, 24)).padStart(2, '0')}:${String(int(0, 60)).padStart(2, '0')}:${String(int(0, 60)).padStart(2, '0')} web-${int(1, 9)}`;
  const lvl = () => pick(['INFO', 'INFO', 'INFO', 'WARN', 'ERROR', 'DEBUG']);
  const T: Array<() => string> = [
    () => `${sys()} sshd[${int(1000, 60000)}]: Accepted password for ${pick(users)} from ${ip()} port ${int(1024, 65535)} ssh2`,
    () => `${sys()} sshd[${int(1000, 60000)}]: Failed password for invalid user ${pick(users)} from ${ip()} port ${int(1024, 65535)} ssh2`,
    () => `${sys()} sshd[${int(1000, 60000)}]: Failed password for root from ${ip()} port ${int(1024, 65535)} ssh2`,
    () => `${sys()} sshd[${int(1000, 60000)}]: Connection closed by ${ip()} port ${int(1024, 65535)} [preauth]`,
    () => `${sys()} sshd[${int(1000, 60000)}]: Received disconnect from ${ip()} port ${int(1024, 65535)}:11: Bye Bye [preauth]`,
    () => `${sys()} sshd[${int(1000, 60000)}]: pam_unix(sshd:session): session opened for user ${pick(users)} by (uid=0)`,
    () => `${sys()} sshd[${int(1000, 60000)}]: pam_unix(sshd:session): session closed for user ${pick(users)}`,
    () => `${sys()} systemd[1]: Started Session ${int(1, 9999)} of user ${pick(users)}.`,
    () => `${sys()} systemd[1]: Starting ${pick(['nginx', 'postgresql', 'redis', 'cron', 'docker'])}.service...`,
    () => `${sys()} kernel: [${int(1, 99999)}.${int(100000, 999999)}] Out of memory: Killed process ${int(100, 99999)} (${pick(['java', 'node', 'python3'])}) total-vm:${int(1e5, 9e6)}kB`,
    () => `${sys()} CRON[${int(1000, 60000)}]: (root) CMD (${pick(['/usr/lib/php/sessionclean', 'run-parts --report /etc/cron.hourly', 'test -x /usr/sbin/anacron'])})`,
    () => `${ip()} - - [${int(10, 28)}/Jan/2026:${int(10, 23)}:${int(10, 59)}:${int(10, 59)} +0000] "${pick(['GET', 'POST', 'PUT'])} /api/v1/orders/${int(1, 99999)} HTTP/1.1" ${pick([200, 201, 404, 500])} ${int(10, 99999)} "-" "${pick(['curl/8.5.0', 'Mozilla/5.0', 'kube-probe/1.29'])}"`,
    () => `${ip()} - - [${int(10, 28)}/Jan/2026:${int(10, 23)}:${int(10, 59)}:${int(10, 59)} +0000] "GET /healthz HTTP/1.1" 200 2 "-" "kube-probe/1.29"`,
    () => `2026/01/0${int(1, 9)} 1${int(0, 9)}:0${int(0, 9)}:1${int(0, 9)} [error] ${int(1, 99)}#${int(1, 99)}: *${int(1, 999999)} upstream timed out (110: Connection timed out) while reading response header from upstream, client: ${ip()}, server: shop, request: "GET /cart HTTP/1.1"`,
    () => `${ts()} ${lvl()} request ${uuid()} served in ${int(1, 999)}ms status=${pick([200, 204, 404])}`,
    () => `${ts()} ERROR payment failed for order ${int(1, 999999)} after ${int(1, 30)}.${int(0, 9)}s: ${pick(['card declined', 'gateway timeout', 'insufficient funds'])}`,
    () => `${ts()} WARN cache ${pick(['users', 'sessions', 'carts'])} at ${int(80, 100)}% of ${int(1, 64)}GiB, evicting ${int(1, 9999)} keys`,
    () => `${ts()} INFO user ${pick(users)} logged in from ${ip()}`,
    () => `${ts()} INFO user ${pick(users)} logged out after ${int(1, 59)}m${int(1, 59)}s`,
    () => `${ts()} DEBUG cache miss key=${hex(16)} shard ${int(0, 16)}`,
    () => `${ts()} INFO wrote checkpoint /var/lib/app/ckpt-${int(1, 99999)}.bin (${int(1, 999)} MB) in ${int(1, 999)}ms`,
    () => `${ts()} ERROR connection to db-${int(1, 5)}.internal:5432 refused, retry ${int(1, 10)}/10 in ${int(1, 30)}s`,
    () => `{"level":${pick([30, 40, 50])},"time":${int(1.7e12, 1.8e12)},"pid":${int(100, 9999)},"hostname":"web-${int(1, 9)}","msg":"job ${uuid()} finished in ${int(1, 9999)}ms with ${int(0, 99)} warnings"}`,
    () => `{"level":30,"time":${int(1.7e12, 1.8e12)},"pid":${int(100, 9999)},"hostname":"web-${int(1, 9)}","reqId":"req-${int(1, 999)}","msg":"request completed","responseTime":${int(1, 999)}.${int(0, 99)}}`,
    () => `{"level":50,"time":${int(1.7e12, 1.8e12)},"pid":${int(100, 9999)},"msg":"unhandled rejection: ECONNRESET on socket ${ip()}:${int(1024, 65535)}"}`,
    () => `E01${int(10, 31)} ${int(10, 23)}:${int(10, 59)}:${int(10, 59)}.${int(100000, 999999)}    ${int(1, 99)} reflector.go:${int(100, 999)}] pkg/mod/k8s.io/client-go@v0.29.0/tools/cache/reflector.go:229: Failed to watch *v1.Pod: the server has asked for the client to provide credentials`,
    () => `I01${int(10, 31)} ${int(10, 23)}:${int(10, 59)}:${int(10, 59)}.${int(100000, 999999)}    ${int(1, 99)} controller.go:${int(100, 999)}] Successfully synced pod default/web-${hex(10)}-${hex(5)}`,
    () => `${ts()} [${int(1, 9999)}] LOG:  duration: ${int(1, 9999)}.${int(100, 999)} ms  statement: SELECT * FROM orders WHERE id = ${int(1, 99999)}`,
    () => `${ts()} [${int(1, 9999)}] LOG:  checkpoint complete: wrote ${int(1, 9999)} buffers (${int(0, 99)}.${int(0, 9)}%); ${int(0, 9)} WAL file(s) added, ${int(0, 9)} removed, ${int(0, 9)} recycled`,
    () => `${ts()} [${int(1, 9999)}] ERROR:  duplicate key value violates unique constraint "orders_pkey"`,
    () => `${ts()} INFO Started ${pick(['OrderService', 'CartService', 'AuthService'])} in ${int(1, 20)}.${int(100, 999)} seconds (JVM running for ${int(10, 40)}.${int(100, 999)})`,
    () => `${ts()} WARN HikariPool-${int(1, 3)} - Thread starvation or clock leap detected (housekeeper delta=${int(1, 9)}m${int(1, 59)}s${int(100, 999)}ms).`,
    () => `${ts()} ERROR Exception in thread "${pick(['main', 'pool-1-thread-3', 'http-nio-8080-exec-7'])}" java.lang.NullPointerException: Cannot invoke "String.length()" because "${pick(['name', 'sku', 'token'])}" is null`,
    () => `${ts()} INFO Packet responder ${int(0, 3)} for block blk_${int(-9e15, 9e15)} terminating`,
    () => `${ts()} INFO Received block blk_${int(-9e15, 9e15)} of size ${int(1, 67108864)} from /${ip()}`,
    () => `${ts()} INFO Deleting block blk_${int(-9e15, 9e15)} file /data/dfs/current/finalized/subdir${int(0, 63)}/blk_${int(-9e15, 9e15)}`,
    () => `${ts()} WARN Slow ReadProcessor read fields took ${int(30000, 90000)}ms (threshold=30000ms); ack: seqno: ${int(1, 99999)} status: SUCCESS downstreamAckTimeNanos: ${int(1e5, 9e9)}`,
    () => `${ts()} INFO ${pick(['GET', 'POST'])} /api/v1/${pick(['users', 'orders', 'carts'])} ${pick([200, 201])} ${int(1, 999)}ms`,
    () => `${ts()} ERROR ${pick(['GET', 'POST'])} /api/v1/${pick(['users', 'orders', 'carts'])} 500 ${int(1, 999)}ms: internal error`,
    () => `${ts()} INFO scheduler: ran ${int(1, 999)} jobs, ${int(0, 9)} failed, next run in ${int(1, 60)}s`,
  ];
  // Zipf-like weights: a few templates dominate, many are rare.
  const weights = T.map((_, i) => 1 / Math.pow(i + 1, 0.9));
  const total = weights.reduce((a, b) => a + b, 0);
  const corpus: Corpus = { lines: [], truth: [] };
  for (let k = 0; k < n; k++) {
    let r = rnd() * total;
    let i = 0;
    while (i < T.length - 1 && r > weights[i]!) {
      r -= weights[i]!;
      i++;
    }
    corpus.lines.push(T[i]!());
    corpus.truth.push(i);
  }
  return corpus;
}

/** Loghub's grouping accuracy: the share of lines whose cluster holds exactly their template's lines. */
export function groupingAccuracy(pred: ReadonlyArray<string | number>, truth: ReadonlyArray<string | number>): number {
  const predSize = new Map<string | number, number>();
  const truthSize = new Map<string | number, number>();
  const predTruths = new Map<string | number, Set<string | number>>();
  pred.forEach((p, i) => {
    const t = truth[i]!;
    predSize.set(p, (predSize.get(p) ?? 0) + 1);
    truthSize.set(t, (truthSize.get(t) ?? 0) + 1);
    let set = predTruths.get(p);
    if (!set) predTruths.set(p, (set = new Set()));
    set.add(t);
  });
  let correct = 0;
  for (const [p, ts] of predTruths) {
    if (ts.size !== 1) continue;
    const [t] = ts;
    if (truthSize.get(t!) === predSize.get(p)) correct += predSize.get(p)!;
  }
  return pred.length === 0 ? 1 : correct / pred.length;
}
