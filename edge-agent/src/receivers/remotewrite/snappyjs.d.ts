// Types of the pure-JS `snappyjs` package (raw snappy block format), which ships none.
declare module 'snappyjs' {
  /** Decompresses a raw snappy block; throws when the declared length exceeds `maxLength` or the block is corrupt. */
  export function uncompress<T extends Uint8Array | ArrayBuffer>(compressed: T, maxLength?: number): T;
  export function compress<T extends Uint8Array | ArrayBuffer>(uncompressed: T): T;
}
