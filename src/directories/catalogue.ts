import type { DirectoryRecord, DirectoryRecords } from './records.js';
import { checkable, usableIn, type DirectoryStatus } from './lifecycle.js';
import type { Logger } from '../observability/logger.js';
import type { Environment } from '../config/common.js';
import type { Directory } from './connectors/index.js';

/** One directory as this bridge knows it right now. */
export interface CatalogueEntry {
  directory: Directory;
  status: DirectoryStatus;
  /** config: from the configuration file (approved by being there); registry: managed by operators. */
  source: 'config' | 'registry';
}

export interface DirectoryCatalogueOptions {
  environment: Environment;
  /** Operator-managed directories; absent: only the configured ones. */
  directories?: DirectoryRecords;
  /** Builds a managed directory (its secret already opened; undefined for a type without one). */
  directoryFor?: (record: DirectoryRecord, secret: string | undefined) => Directory;
  /** How stale this instance's view may get before it checks the shared revision again. */
  refreshIntervalMs?: number;
  logger?: Logger;
}

/**
 * The school directories of this bridge: those of the configuration file, and those operators manage
 * through the admin API. Every instance keeps its own view and reloads it when the shared revision
 * changes, so an operator's change reaches every instance without a restart.
 */
export class DirectoryCatalogue {
  private readonly statics: CatalogueEntry[];
  private managed = new Map<string, CatalogueEntry>();
  /** Directories survive reloads while their definition and secret stay the same (their connector caches discovery, metadata). */
  private readonly opened = new Map<string, { fingerprint: string; directory: Directory }>();
  private revision: string | undefined;
  private checkedAt = Number.NEGATIVE_INFINITY;
  private pending: Promise<void> | undefined;

  constructor(
    configured: Directory[],
    private readonly options: DirectoryCatalogueOptions = { environment: 'test' },
  ) {
    this.statics = configured.map((directory) => ({ directory, status: 'approved', source: 'config' }));
  }

  /** Reloads the managed directories if another instance (or this one) changed them. */
  async refresh(force = false): Promise<void> {
    const { directories } = this.options;
    if (!directories) return;
    if (!force && Date.now() - this.checkedAt < (this.options.refreshIntervalMs ?? 2000)) return;
    this.pending ??= (async () => {
      try {
        const revision = await directories.revision();
        this.checkedAt = Date.now();
        if (revision === this.revision && !force) return;
        const records = await directories.list();
        this.managed = new Map(
          records.flatMap((record) => {
            const entry = this.entryFor(record);
            return entry ? [[record.definition.id, entry] as const] : [];
          }),
        );
        this.revision = revision;
        for (const id of this.opened.keys()) if (!this.managed.has(id)) this.opened.delete(id);
      } finally {
        this.pending = undefined;
      }
    })();
    await this.pending;
  }

  private entryFor(record: DirectoryRecord): CatalogueEntry | undefined {
    const id = record.definition.id;
    const fingerprint = JSON.stringify([record.definition, record.secret]);
    let cached = this.opened.get(id);
    if (!cached || cached.fingerprint !== fingerprint) {
      try {
        const secret = this.options.directories!.secretOf(record);
        cached = { fingerprint, directory: this.options.directoryFor!(record, secret) };
        this.opened.set(id, cached);
      } catch (err) {
        // Without its secret the directory cannot be used; operators see why in its health.
        this.options.logger?.warn({ directoryId: id, err }, 'managed directory cannot be used');
        this.opened.delete(id);
        return undefined;
      }
    }
    return { directory: cached.directory, status: record.status, source: 'registry' };
  }

  private entries(): CatalogueEntry[] {
    return [...this.statics, ...this.managed.values()];
  }

  /** Every directory known here, whatever its state (for operators and health checks). */
  async all(): Promise<CatalogueEntry[]> {
    await this.refresh();
    return this.entries();
  }

  /** The directories users of this environment may choose, in chooser order. */
  async list(): Promise<Directory[]> {
    await this.refresh();
    return this.entries()
      .filter((e) => usableIn(e.status, e.directory.accounts, this.options.environment))
      .map((e) => e.directory);
  }

  /** The directory, if users of this environment may sign in through it now. */
  async get(id: string): Promise<Directory | undefined> {
    await this.refresh();
    const entry = this.entries().find((e) => e.directory.id === id);
    return entry && usableIn(entry.status, entry.directory.accounts, this.options.environment) ? entry.directory : undefined;
  }

  /** The directory, if the operator's attribute check may sign in through it (testing or approved). */
  async forCheck(id: string): Promise<CatalogueEntry | undefined> {
    await this.refresh();
    const entry = this.entries().find((e) => e.directory.id === id);
    return entry && checkable(entry.status) ? entry : undefined;
  }

  /** Ids of the configured directories (they are known at start-up). */
  staticIds(): string[] {
    return this.statics.map((e) => e.directory.id);
  }

  /** Synchronous view for oidc-provider's prompt checks: whether users here may use this directory. */
  isKnown(id: string): boolean {
    return this.entries().some((e) => e.directory.id === id && usableIn(e.status, e.directory.accounts, this.options.environment));
  }
}
