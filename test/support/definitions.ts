/** A city's OIDC school directory, as an operator defines it (unit tests of the records and secrets). */
export const CITY_DIRECTORY = {
  id: 'city',
  type: 'oidc' as const,
  displayName: { fi: 'Kaupunki' },
  issuer: 'https://idp.city.example',
  clientId: 'bridge',
  scope: 'openid profile',
  tokenEndpointAuthMethod: 'client_secret_basic' as const,
  userinfo: false,
};
