#!/usr/bin/env node
// `npm run rca`: offline root-cause ranking (central/src/rca/cli.ts).
import { rcaCli } from '../rca/cli.js';

process.exitCode = await rcaCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
