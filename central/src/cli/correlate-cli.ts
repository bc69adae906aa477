#!/usr/bin/env node
// `npm run correlate`: offline alert correlation (central/src/correlate/cli.ts).
import { correlateCli } from '../correlate/cli.js';

process.exitCode = await correlateCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
