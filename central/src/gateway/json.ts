// JSON request bodies: parsed with JSON.parse, then refused when they carry prototype-poisoning
// keys (`__proto__`, or `constructor.prototype`), the same rule as secure-json-parse (which
// fastify uses), but with the parser's own message so a 400 can say where the text is broken.

export type JsonParseOutcome = { ok: true; value: unknown } | { ok: false; field: string; problem: string };

export function parseJsonBody(bytes: Buffer): JsonParseOutcome {
  let text = bytes.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    return { ok: false, field: 'body', problem: `malformed JSON: ${msg.length > 200 ? `${msg.slice(0, 200)}...` : msg}` };
  }
  if (text.includes('__proto__') || text.includes('constructor')) {
    const at = findPoison(value);
    if (at !== undefined) return { ok: false, field: at, problem: 'forbidden key (prototype poisoning)' };
  }
  return { ok: true, value };
}

function findPoison(root: unknown): string | undefined {
  const stack: Array<{ v: unknown; path: string }> = [{ v: root, path: 'body' }];
  while (stack.length > 0) {
    const { v, path } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) stack.push({ v: v[i], path: `${path}[${i}]` });
      continue;
    }
    if (Object.prototype.hasOwnProperty.call(v, '__proto__')) return `${path}.__proto__`;
    const c = (v as Record<string, unknown>).constructor;
    if (Object.prototype.hasOwnProperty.call(v, 'constructor') && c !== null && typeof c === 'object' && Object.prototype.hasOwnProperty.call(c, 'prototype')) {
      return `${path}.constructor.prototype`;
    }
    for (const [k, child] of Object.entries(v)) stack.push({ v: child, path: `${path}.${k}` });
  }
  return undefined;
}
