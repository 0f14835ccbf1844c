import type { UpstreamConnector } from './types.js';

/** The school directories this deployment federates to, in chooser order. */
export class UpstreamRegistry {
  private readonly byId: Map<string, UpstreamConnector>;

  constructor(connectors: UpstreamConnector[]) {
    this.byId = new Map(connectors.map((c) => [c.id, c]));
  }

  list(): UpstreamConnector[] {
    return [...this.byId.values()];
  }

  get(id: string): UpstreamConnector | undefined {
    return this.byId.get(id);
  }

  ids(): string[] {
    return [...this.byId.keys()];
  }
}
