// Where central keeps its durable state inside data_dir.
import { join } from 'node:path';

/** The embedded database (every SQLite store). */
export function centralDatabasePath(dataDir: string): string {
  return join(dataDir, 'central.db');
}
