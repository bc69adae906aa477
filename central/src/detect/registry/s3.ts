// The model registry's artifacts in an S3-compatible object store (issue #7, Deliver 4: "object
// storage behind the same interface"). Keys live under `<prefix>/` in one bucket. The
// conditional write the registry's state needs is S3's own: PutObject with `If-None-Match: *`
// (create only) or `If-Match: <etag>` (replace only that version); a 412 PreconditionFailed or
// 409 ConditionalRequestConflict is the registry's CONFLICT, which it retries after reading
// again. Supported by AWS S3 (since 2024) and the S3-compatible stores that implement
// conditional writes; tested against moto's S3 server (deploy/dev/s3.sh).
//
// Credentials come from the AWS SDK's default chain (environment, shared config, web identity
// for a Kubernetes service account, instance metadata): never from central's config file, and
// never logged.
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { ArtifactError, checkArtifactKey } from './artifacts.js';
import type { Artifact, ArtifactStore } from './artifacts.js';

export interface S3ArtifactStoreOptions {
  bucket: string;
  /** Key prefix inside the bucket (no leading or trailing "/"); "" for the bucket's root. */
  prefix: string;
  region: string;
  /** An S3-compatible endpoint (http(s)://host:port); empty for AWS. */
  endpoint?: string;
  /** Path-style addressing (bucket in the path), which most S3-compatible stores need. */
  forcePathStyle?: boolean;
  /** Overrides the SDK's default credential chain (tests). */
  credentials?: S3ClientConfig['credentials'];
  /** Attempts per request (the SDK's retry strategy). Default 3. */
  maxAttempts?: number;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const PREFIX = /^([a-z0-9][a-z0-9._-]{0,63}(\/[a-z0-9][a-z0-9._-]{0,63}){0,7})?$/;
/** Largest artifact read back (a model or a state file); larger objects are refused. */
const MAX_BYTES = 512 * 1024 * 1024;

export function checkS3Options(o: S3ArtifactStoreOptions): void {
  if (!BUCKET.test(o.bucket)) throw new ArtifactError('INVALID_KEY', `models.registry.s3.bucket ${JSON.stringify(o.bucket)} is not an S3 bucket name (3-63 of a-z, 0-9, ".", "-")`, false);
  if (!PREFIX.test(o.prefix)) throw new ArtifactError('INVALID_KEY', `models.registry.s3.prefix ${JSON.stringify(o.prefix)} must be lower-case path segments of [a-z0-9._-] without a leading or trailing "/"`, false);
  if (o.endpoint && !/^https?:\/\/[^\s/]+(\/.*)?$/.test(o.endpoint)) throw new ArtifactError('INVALID_KEY', `models.registry.s3.endpoint ${JSON.stringify(o.endpoint)} must be an http(s) URL`, false);
}

export class S3ArtifactStore implements ArtifactStore {
  private readonly client: S3Client;

  constructor(private readonly o: S3ArtifactStoreOptions) {
    checkS3Options(o);
    this.client = new S3Client({
      region: o.region,
      ...(o.endpoint ? { endpoint: o.endpoint } : {}),
      forcePathStyle: o.forcePathStyle ?? false,
      maxAttempts: o.maxAttempts ?? 3,
      ...(o.credentials ? { credentials: o.credentials } : {}),
    });
  }

  private key(key: string): string {
    checkArtifactKey(key);
    return this.o.prefix ? `${this.o.prefix}/${key}` : key;
  }

  async read(key: string): Promise<Artifact | undefined> {
    const k = this.key(key);
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.o.bucket, Key: k }));
      if ((r.ContentLength ?? 0) > MAX_BYTES) throw new ArtifactError('IO', `${key}: ${r.ContentLength} bytes, more than an artifact may hold (${MAX_BYTES})`, false);
      const bytes = r.Body ? await r.Body.transformToByteArray() : new Uint8Array();
      if (!r.ETag) throw new ArtifactError('IO', `${key}: the store answered without an ETag (conditional writes need one)`, false);
      return { bytes, etag: r.ETag };
    } catch (err) {
      if (err instanceof ArtifactError) throw err;
      if (err instanceof S3ServiceException && (err.name === 'NoSuchKey' || err.$metadata.httpStatusCode === 404)) {
        if (err.name === 'NoSuchBucket') throw this.io('reading', key, err);
        return undefined;
      }
      throw this.io('reading', key, err);
    }
  }

  async write(key: string, bytes: Uint8Array, ifMatch?: string | null): Promise<string> {
    const k = this.key(key);
    try {
      const r = await this.client.send(
        new PutObjectCommand({
          Bucket: this.o.bucket,
          Key: k,
          Body: bytes,
          ContentLength: bytes.length,
          ...(ifMatch === null ? { IfNoneMatch: '*' } : ifMatch !== undefined ? { IfMatch: ifMatch } : {}),
        }),
      );
      if (!r.ETag) throw new ArtifactError('IO', `${key}: the store answered without an ETag`, false);
      return r.ETag;
    } catch (err) {
      if (err instanceof ArtifactError) throw err;
      const status = err instanceof S3ServiceException ? err.$metadata.httpStatusCode : undefined;
      if (ifMatch !== undefined && (status === 412 || status === 409)) {
        throw new ArtifactError('CONFLICT', `${key} changed since it was read (another writer); read it again and retry`, true);
      }
      throw this.io('writing', key, err);
    }
  }

  async list(prefix: string): Promise<string[]> {
    const base = this.o.prefix ? `${this.o.prefix}/` : '';
    const out: string[] = [];
    let token: string | undefined;
    try {
      do {
        const r = await this.client.send(new ListObjectsV2Command({ Bucket: this.o.bucket, Prefix: base + prefix, ...(token ? { ContinuationToken: token } : {}) }));
        for (const c of r.Contents ?? []) if (c.Key?.startsWith(base)) out.push(c.Key.slice(base.length));
        token = r.IsTruncated ? r.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      throw this.io('listing', prefix, err);
    }
    return out.sort();
  }

  /** Closes the client's connections. */
  destroy(): void {
    this.client.destroy();
  }

  private io(doing: string, key: string, err: unknown): ArtifactError {
    const e = err as Error & { $metadata?: { httpStatusCode?: number }; name?: string };
    const status = e.$metadata?.httpStatusCode;
    const what = `${e.name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}: ${e.message}`;
    const hint = status === 403 ? ' - check the credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or the pod\'s role) and the bucket policy' : e.name === 'NoSuchBucket' ? ` - create the bucket ${this.o.bucket} first` : '';
    return new ArtifactError('IO', `${doing} s3://${this.o.bucket}/${this.o.prefix ? `${this.o.prefix}/` : ''}${key}: ${what}${hint}`, status === undefined || status >= 500 || status === 429, { cause: err });
  }
}
