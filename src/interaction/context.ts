import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { z } from 'zod';
import type { AccountStore } from '../accounts/accounts.js';
import type { ClaimsEvaluator } from '../claims/evaluate.js';
import type { BridgeConfig } from '../config/schema.js';
import type { DirectoryCatalogue } from '../directories/catalogue.js';
import { DirectoryError } from '../directories/errors.js';
import type { DirectoryHandoff, PendingHandoff } from '../directories/handoff.js';
import type { SchoolNames } from '../directories/school-names.js';
import { basePathOf } from '../http/base-path.js';
import type { localeOf, LoginStart, PageRenderer } from '../http/pages.js';
import type { Logger } from '../observability/logger.js';
import type { ReleaseGate } from '../provider/release-gate.js';
import type { StateStore } from '../storage/types.js';

export interface InteractionDependencies {
  provider: Provider;
  config: BridgeConfig;
  subjectSalt: string;
  catalogue: DirectoryCatalogue;
  claims: ClaimsEvaluator;
  state: StateStore;
  accounts: AccountStore;
  pages: PageRenderer;
  logger: Logger;
  handoff: DirectoryHandoff;
  /** What a service may receive of a user (services/release.ts), asked at the end of every login. */
  release: ReleaseGate;
  /** Completes an operator's attribute check that came back through a directory's callback. */
  completeCheck?: (ctx: Context, pending: PendingHandoff & { checkToken: string }) => Promise<void>;
  /** Whether a directory is marked unavailable by the health checks (shown in the chooser). */
  isUnavailable?: (directoryId: string) => boolean;
  /** Names of schools that directories list by code only. */
  schoolNames?: SchoolNames;
}

/** What every step of a login shares: the dependencies and what follows from the configuration. */
export interface LoginContext extends InteractionDependencies {
  /** The issuer's path, before every route of ours. */
  base: string;
  secureCookie: boolean;
  /** How long a login's outcome waits for the browser (the interaction's lifetime). */
  loginTtl: number;
}

export function loginContext(deps: InteractionDependencies): LoginContext {
  return {
    ...deps,
    base: basePathOf(deps.config.issuer),
    secureCookie: deps.config.issuer.startsWith('https://'),
    loginTtl: deps.config.ttl.interactionSeconds,
  };
}

export type Locale = ReturnType<typeof localeOf>;

export const uidParam = z.string().regex(/^[A-Za-z0-9_-]{10,64}$/);
export const directoryParam = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/);

/** Reads the interaction of this browser; the path uid must be the cookie's interaction. */
export async function interactionOf({ provider }: LoginContext, ctx: Context) {
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (!uidParam.safeParse(ctx.params.uid).success || details.uid !== ctx.params.uid) {
    throw new DirectoryError('directory_transaction_invalid', 'interaction uid does not match this browser');
  }
  return details;
}

/** The login an interaction is: a language the user picks during it outranks its ui_locales. */
export function loginStart(details: { iat?: unknown; uid: string }): LoginStart | undefined {
  return typeof details.iat === 'number' ? { at: details.iat, uid: details.uid } : undefined;
}
