// The benchmark's peer: the Node.js oidc-provider package configured like guichet.
//
//   node server.js PORT SECRET
//
// - a confidential client `bench` (client_secret_basic, client_credentials only, scope `api`)
//   whose access tokens are JWTs (RFC 9068, `typ: at+jwt`) signed ES256 with a 300 s lifetime,
//   by way of a resource server (resource indicators) chosen by default;
// - a second client `bench-code` for the authorization code flow (with refresh tokens);
// - one ES256 (P-256) and one RS256 (2048) key in the JWKS, as guichet publishes;
// - one process (Node.js runs JavaScript on one thread), in-memory adapter, no request logs.
//
// Keys are generated at start: this server keeps nothing.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.argv[2] || 18081);
const secret = process.argv[3];
if (!secret) {
  console.error('usage: node server.js PORT CLIENT_SECRET');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;

function jwk(type, options, alg) {
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), alg, use: 'sig' };
}

const resourceServer = {
  scope: 'api',
  // guichet's access-token audience defaults to its issuer.
  audience: issuer,
  accessTokenTTL: 300,
  accessTokenFormat: 'jwt',
  jwt: { sign: { alg: 'ES256' } },
};

const configuration = {
  clients: [
    {
      client_id: 'bench',
      client_secret: secret,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: 'api',
    },
    {
      client_id: 'bench-code',
      client_secret: secret,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1:9/cb'],
      scope: 'openid profile email offline_access',
    },
  ],
  jwks: {
    keys: [
      jwk('rsa', { modulusLength: 2048 }, 'RS256'),
      jwk('ec', { namedCurve: 'P-256' }, 'ES256'),
    ],
  },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  scopes: ['openid', 'offline_access', 'api'],
  claims: {
    openid: ['sub'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username', 'updated_at', 'locale'],
    email: ['email', 'email_verified'],
  },
  pkce: { required: () => true },
  ttl: {
    AccessToken: 300,
    ClientCredentials: 300,
    IdToken: 300,
    AuthorizationCode: 60,
    RefreshToken: 2592000,
  },
  features: {
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // A request without `resource` gets the API: the same request body works for both
      // servers (guichet has no resource indicators).
      defaultResource: () => 'urn:guichet-bench:api',
      getResourceServerInfo: () => resourceServer,
      useGrantedResource: () => true,
    },
  },
  // The access token minted at the token endpoint stands alone; nothing is looked up.
  findAccount: async (_ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub }),
  }),
};

const provider = new Provider(issuer, configuration);
provider.proxy = false;
provider.on('server_error', (_ctx, err) => console.error('server_error', err));
provider.listen(port, '127.0.0.1', () => {
  console.error(`oidc-provider listening on ${issuer}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
