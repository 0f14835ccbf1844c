import type { LocalizedText } from '../config/schema.js';
import type { Organisation, OrganisationRegistry } from '../organisations/index.js';
import type { DirectoryListing } from './connectors/types.js';

/**
 * Names for the chooser of schools a directory lists by code or OID only, from the organisation
 * registry. Looked up in the background, a few at a time, and remembered; the chooser shows what is
 * known (the code until the name arrives). Names are public organisation data.
 */
export class SchoolNames {
  private readonly names = new Map<string, LocalizedText | null>();
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private active = 0;
  private idle: Array<() => void> = [];

  constructor(
    private readonly registry: OrganisationRegistry,
    private readonly concurrency = 4,
  ) {}

  /** The listing with every known name filled in; unknown ones are looked up for next time. */
  withNames(listing: DirectoryListing): DirectoryListing {
    let missing = false;
    const schools = listing.schools.map((school) => {
      if (school.name) return school;
      const known = this.names.get(school.id);
      if (known === undefined) {
        missing = true;
        this.enqueue(school.id);
      }
      return known ? { ...school, name: known } : school;
    });
    return missing || schools.some((s, i) => s !== listing.schools[i]) ? { ...listing, schools } : listing;
  }

  /** Resolves once no lookup is pending (or at once when none is). */
  settled(): Promise<void> {
    if (this.active === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((done) => this.idle.push(done));
  }

  private enqueue(id: string): void {
    if (this.queued.has(id)) return;
    this.queued.add(id);
    this.queue.push(id);
    this.pump();
  }

  private pump(): void {
    while (this.active < this.concurrency && this.queue.length > 0) {
      const id = this.queue.shift()!;
      this.active += 1;
      void this.lookup(id).finally(() => {
        this.active -= 1;
        this.queued.delete(id);
        this.pump();
        if (this.active === 0 && this.queue.length === 0) {
          const waiting = this.idle;
          this.idle = [];
          for (const done of waiting) done();
        }
      });
    }
  }

  private async lookup(id: string): Promise<void> {
    let organisation: Organisation | undefined;
    try {
      organisation = await this.registry.lookup(id);
    } catch {
      // The registry is out: asked again on a later page.
      return;
    }
    const { fi, sv, en } = organisation?.names ?? {};
    const primary = fi ?? sv ?? en;
    this.names.set(id, primary ? { fi: primary, ...(sv ? { sv } : {}), ...(en ? { en } : {}) } : null);
  }
}
