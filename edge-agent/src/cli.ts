#!/usr/bin/env node
// Entry point of `aiops-agent` from a source checkout (npm run agent -- ...). The single
// executable has its own entry (edge-agent/sea/entry.ts) that passes the embedded assets.
import { main } from './main.js';

main(process.argv.slice(2), { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s), env: process.env }).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`aiops-agent: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
