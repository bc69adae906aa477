// Reading scenario files: YAML text -> object -> validated Scenario.
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { validateScenario } from './config.js';
import type { Scenario } from './config.js';
import { ScenarioError } from './errors.js';

/** Parses and validates scenario YAML; `source` names the file in errors. */
export function parseScenarioText(text: string, source = 'scenario'): Scenario {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const where = e.linePos?.[0] ? `:${e.linePos[0].line}:${e.linePos[0].col}` : '';
    throw new ScenarioError('BAD_YAML', `${source}${where}: not valid YAML: ${e.message.split('\n')[0]}`, { cause: e });
  }
  return validateScenario(doc.toJS(), source);
}

export async function loadScenarioFile(path: string): Promise<Scenario> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new ScenarioError('NOT_FOUND', `cannot read scenario file ${path}: ${(cause as Error).message}`, { cause });
  }
  return parseScenarioText(text, path);
}

/** The folder of scenarios shipped with the simulators (simulators/scenarios). */
export function shippedScenariosDir(): string {
  return fileURLToPath(new URL('../scenarios/', import.meta.url));
}

/** Paths of the shipped scenario files, sorted by name. */
export async function listShippedScenarios(dir = shippedScenariosDir()): Promise<string[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.yaml') || n.endsWith('.yml')).sort();
  return names.map((n) => join(dir, n));
}
