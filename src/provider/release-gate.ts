import type { Environment } from '../config/common.js';
import type { DirectoryCatalogue } from '../directories/catalogue.js';
import { allowedIn, type ServiceRegistry } from '../services/registry.js';
import { decideRelease, type ReleaseDecision, type ReleaseUser } from '../services/release.js';

/**
 * Reads what decideRelease needs — the service's record and the user's directory in this
 * environment — and asks it. The login's end, single sign-on and findAccount all come through here.
 */
export class ReleaseGate {
  constructor(
    private readonly services: ServiceRegistry,
    private readonly catalogue: DirectoryCatalogue,
    private readonly environment: Environment,
  ) {}

  async decide(user: ReleaseUser, clientId: string, token?: { issuedAt: number | undefined }): Promise<ReleaseDecision> {
    const [live, directory] = await Promise.all([this.services.live(clientId), this.catalogue.get(user.directoryId)]);
    return decideRelease({
      user,
      service: live && {
        clientId,
        allowedHere: allowedIn(live, this.environment),
        allowTestLearnerIds: live.settings.allowTestLearnerIds,
        releasedClaims: live.settings.releasedClaims,
        tokensRevokedBefore: live.tokensRevokedBefore,
      },
      directory: directory && { allowedClients: directory.profile.allowedClients },
      token,
    });
  }
}
