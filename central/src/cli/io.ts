// The standard streams an offline command writes to (injected so tests read what it printed).
export interface CommandIo {
  readonly stdout: { write(chunk: string): unknown };
  readonly stderr: { write(chunk: string): unknown };
}
