// Public surface of the store-and-forward buffer.
export { BUFFER_CONFIG_DEFAULTS, bufferConfigSchema, DEFAULT_BUFFER_FLUSH_INTERVAL_MS, DEFAULT_BUFFER_MAX_BYTES } from './config.js';
export type { BufferConfig } from './config.js';
export type { BufferedFrame, FrameBuffer, PutResult } from './frame-buffer.js';
export { bufferFileName, SqlJsFrameBuffer, writeAtomic } from './sqljs-buffer.js';
export type { SqlJsFrameBufferOptions } from './sqljs-buffer.js';
export { loadSqlJs } from './sqljs.js';
export type { LoadSqlJsOptions } from './sqljs.js';
