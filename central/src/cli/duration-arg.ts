// The duration option of the command lines (aiops, the quickstart): commander reports a bad
// value with the option named ("option '--expires <duration>' argument 'soon' is invalid. ...").
import { InvalidArgumentError } from 'commander';
import { parseDuration } from '../../../shared-schemas/src/runtime/index.js';

/**
 * A commander argument parser for a positive duration in the config syntax ("90s", "30m",
 * "1h30m", or milliseconds), to milliseconds. `examples` are named in the error, which echoes at
 * most `echoMax` characters of the value.
 */
export function positiveDurationArg(examples: string, echoMax = Infinity): (value: string) => number {
  return (v) => {
    const ms = parseDuration(v);
    if (!Number.isFinite(ms) || ms <= 0) throw new InvalidArgumentError(`must be a duration such as ${examples} (got "${v.slice(0, echoMax)}")`);
    return ms;
  };
}
