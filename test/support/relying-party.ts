import * as client from 'openid-client';

export interface RelyingPartyOptions {
  issuer: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
}

export interface AuthorizationRequest {
  url: URL;
  state: string;
  nonce: string;
  codeVerifier: string;
}

/**
 * A service signing in through the bridge with openid-client, the way a real learning service does:
 * discovery, PKCE S256, state and nonce.
 */
export class RelyingParty {
  private constructor(
    readonly options: RelyingPartyOptions,
    readonly configuration: client.Configuration,
  ) {}

  static async discover(options: RelyingPartyOptions): Promise<RelyingParty> {
    const configuration = await client.discovery(new URL(options.issuer), options.clientId, undefined, client.ClientSecretBasic(options.clientSecret), {
      execute: [client.allowInsecureRequests],
    });
    return new RelyingParty(options, configuration);
  }

  async authorizationRequest(extra: Record<string, string> = {}): Promise<AuthorizationRequest> {
    const state = client.randomState();
    const nonce = client.randomNonce();
    const codeVerifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(this.configuration, {
      redirect_uri: this.options.redirectUri,
      scope: 'openid profile',
      state,
      nonce,
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      ...extra,
    });
    return { url, state, nonce, codeVerifier };
  }

  /** Redeems the code in the callback URL; openid-client validates state, nonce and the ID token. */
  async redeem(callbackUrl: string, request: AuthorizationRequest, checks: { maxAge?: number } = {}) {
    return client.authorizationCodeGrant(this.configuration, new URL(callbackUrl), {
      pkceCodeVerifier: request.codeVerifier,
      expectedState: request.state,
      expectedNonce: request.nonce,
      idTokenExpected: true,
      ...checks,
    });
  }

  async userinfo(accessToken: string, sub: string) {
    return client.fetchUserInfo(this.configuration, accessToken, sub);
  }
}
