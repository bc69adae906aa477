// Runs async tasks one at a time, in call order: each starts after the previous one settled
// (whether it resolved or rejected). A task's own result or error goes to its caller only.
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const r = this.tail.then(task, task);
    this.tail = r.catch(() => undefined);
    return r;
  }

  /** Settles when every task queued so far has settled. */
  idle(): Promise<void> {
    return this.tail.then(() => undefined);
  }
}
