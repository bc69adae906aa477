#!/usr/bin/env node
// Entry point of `aiops-central` from a source checkout (npm run central -- ...).
import { centralMain } from '../main.js';

centralMain(process.argv.slice(2), { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s), env: process.env }).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`aiops-central: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
