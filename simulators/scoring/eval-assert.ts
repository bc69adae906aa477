/** Assertions shared by the evaluation scorers' tests (not part of the public surface). */
import assert from 'node:assert/strict';
import { EvalScoringError, type EvalErrorCode } from './eval-errors.js';

/** `fn` throws an EvalScoringError with this code and field, whose message holds every part. */
export function throwsEval(fn: () => unknown, code: EvalErrorCode, field: string | undefined, ...parts: string[]): void {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof EvalScoringError, `expected EvalScoringError, got ${String(err)}`);
    assert.equal(err.name, 'EvalScoringError');
    assert.equal(err.code, code, err.message);
    assert.equal(err.field, field, err.message);
    assert.equal(err.retryable, false);
    for (const part of parts) assert.ok(err.message.includes(part), `"${err.message}" lacks "${part}"`);
    return;
  }
  assert.fail(`expected an EvalScoringError ${code}`);
}

export function close(actual: number, expected: number, what: string, tol = 1e-12): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: expected ${expected} ± ${tol}, got ${actual}`);
}
