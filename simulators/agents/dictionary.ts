// The series dictionary of one virtual agent's connection. The real exporter interns label sets
// with shared-schemas' SeriesDictionaryEncoder (stream mode); a virtual agent's series set is
// fixed (ids 1..M in frame order), so this keeps only the epoch and whether the next frame is
// a 'reset' frame, and builds the defs when one is due: the same wire behaviour (defs once per
// epoch, 'reset' then 'continue', strictly increasing epochs) without holding M label keys per
// agent (at 1,000 agents x 2,000 series that map would be ~400 MB).
import type { DictionaryUpdate, Labels, SeriesDef } from '../../shared-schemas/src/index.js';

export class AgentDictionary {
  private currentEpoch = 0;
  private resetPending = true;

  constructor(
    private readonly series: number,
    private readonly labelsOf: (id: number) => Labels,
    private readonly epochSource: () => number = Date.now,
  ) {
    this.currentEpoch = this.nextEpoch(0);
  }

  get epoch(): number {
    return this.currentEpoch;
  }

  /** True when the next frame is a 'reset' frame (carries every def). */
  get pendingReset(): boolean {
    return this.resetPending;
  }

  private nextEpoch(previous: number): number {
    const candidate = Math.floor(this.epochSource());
    return Number.isSafeInteger(candidate) && candidate > previous ? candidate : previous + 1;
  }

  /** New epoch: the next frame is a 'reset' frame. On every (re)connect and resync. */
  reset(): void {
    this.currentEpoch = this.nextEpoch(this.currentEpoch);
    this.resetPending = true;
  }

  /** The dictionary fields of the next frame; marks the defs as sent. */
  takeUpdate(): DictionaryUpdate {
    if (!this.resetPending) return { dictionaryScope: 'continue', dictionaryEpoch: this.currentEpoch, seriesDefs: [] };
    this.resetPending = false;
    const seriesDefs: SeriesDef[] = new Array<SeriesDef>(this.series);
    for (let id = 1; id <= this.series; id++) seriesDefs[id - 1] = { id, labels: this.labelsOf(id) };
    return { dictionaryScope: 'reset', dictionaryEpoch: this.currentEpoch, seriesDefs };
  }
}
