import type { ConnectorOptions } from '../options.js';
import { DirectoryError } from '../../errors.js';
import { MAX_METADATA_BYTES, MetadataError, parseIdpMetadata, readBounded, type IdpMetadata } from './metadata.js';

/** How long a failed read is remembered, so a dead metadata URL is not fetched by every login. */
const RETRY_AFTER_MS = 5_000;

/**
 * An identity provider's metadata: given inline, or read from its URL (bounded in time and size),
 * cached and read again every `metadataRefreshSeconds`. A failed read keeps the last good metadata;
 * metadata past its validUntil is never used.
 */
export class IdpMetadataSource {
  private cached: { metadata: IdpMetadata; readAt: number } | undefined;
  private pending: Promise<IdpMetadata> | undefined;
  private failedAt = 0;
  private lastFailure: string | undefined;

  constructor(
    private readonly settings: {
      metadataUrl?: string | undefined;
      metadata?: string | undefined;
      idpEntityId?: string | undefined;
      metadataRefreshSeconds: number;
    },
    private readonly options: Pick<ConnectorOptions, 'timeoutMs' | 'allowHttp'>,
  ) {}

  /** The metadata to use now; throws DirectoryError when there is none that may be used. */
  async get(): Promise<IdpMetadata> {
    const now = Date.now();
    const cached = this.cached && this.usable(this.cached.metadata, now) ? this.cached : undefined;
    if (cached && now - cached.readAt < this.settings.metadataRefreshSeconds * 1000) return cached.metadata;
    if (now - this.failedAt < RETRY_AFTER_MS) {
      if (cached) return cached.metadata;
      throw new DirectoryError('directory_unavailable', `the identity provider's metadata cannot be used: ${this.lastFailure ?? 'it failed recently'}`);
    }
    try {
      return await this.refresh(this.options.timeoutMs);
    } catch (err) {
      // Stale but still valid metadata is better than no login while the URL is down.
      if (cached) return cached.metadata;
      // Unreachable or invalid alike: the directory cannot be used until its metadata is fixed.
      throw new DirectoryError('directory_unavailable', `the identity provider's metadata cannot be used: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Reads the metadata now (health checks; concurrent callers share one read). Throws MetadataError. */
  refresh(timeoutMs: number): Promise<IdpMetadata> {
    this.pending ??= this.read(timeoutMs)
      .then((metadata) => {
        if (!this.usable(metadata, Date.now())) throw new MetadataError(`the metadata expired at ${new Date(metadata.validUntil!).toISOString()} (validUntil)`);
        this.cached = { metadata, readAt: Date.now() };
        this.lastFailure = undefined;
        return metadata;
      })
      .catch((err: unknown) => {
        this.failedAt = Date.now();
        this.lastFailure = err instanceof MetadataError ? err.message : 'unexpected failure';
        throw err instanceof MetadataError ? err : new MetadataError('the metadata cannot be read');
      })
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }

  private usable(metadata: IdpMetadata, now: number): boolean {
    return metadata.validUntil === undefined || now < metadata.validUntil;
  }

  private async read(timeoutMs: number): Promise<IdpMetadata> {
    const { metadataUrl, metadata, idpEntityId } = this.settings;
    if (metadata !== undefined) return parseIdpMetadata(metadata, idpEntityId);
    if (!metadataUrl) throw new MetadataError('no metadata or metadataUrl');
    if (!metadataUrl.startsWith('https://') && !this.options.allowHttp) throw new MetadataError(`${metadataUrl} is not https`);
    let response: Response;
    try {
      response = await fetch(metadataUrl, {
        headers: { accept: 'application/samlmetadata+xml, application/xml, text/xml' },
        redirect: 'error',
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const name = (err as Error).name;
      throw new MetadataError(
        name === 'TimeoutError' || name === 'AbortError' ? `no answer from ${metadataUrl} in ${timeoutMs} ms` : `cannot reach ${metadataUrl}`,
      );
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new MetadataError(`${metadataUrl} answered HTTP ${response.status}`);
    }
    const text = await readBounded(response, MAX_METADATA_BYTES);
    try {
      return parseIdpMetadata(text, idpEntityId);
    } catch (err) {
      throw new MetadataError(`${metadataUrl}: ${(err as Error).message}`);
    }
  }
}
