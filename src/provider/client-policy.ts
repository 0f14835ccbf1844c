/** What an operator decides per service, beyond its OIDC metadata. Never settable by the service. */
export interface ClientPolicy {
  /** Test learner numbers (1.2.246.562.98.*) may be released to it. */
  allowTestLearnerIds: boolean;
}

const DEFAULT_POLICY: ClientPolicy = { allowTestLearnerIds: false };

export class ClientPolicies {
  private readonly byClient: Map<string, ClientPolicy>;

  constructor(entries: Iterable<[string, ClientPolicy]> = []) {
    this.byClient = new Map(entries);
  }

  policyOf(clientId: string): ClientPolicy {
    return this.byClient.get(clientId) ?? DEFAULT_POLICY;
  }

  allowsTestLearnerIds(clientId: string): boolean {
    return this.policyOf(clientId).allowTestLearnerIds;
  }
}
