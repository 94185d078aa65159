// Drives Gatehouse with openid-client 6 (a stock, certified OAuth client)
// knowing only the issuer URL and a client id: RFC 8414 discovery, the
// RFC 8628 device flow, a protected-resource call and RFC 7009 revocation.
//
//   GATEHOUSE_URL=http://127.0.0.1:8080 node device-flow.mjs
//
// Prints one "KEY value" line per step so a test (or a person) can follow:
// USER_CODE and VERIFICATION_URI_COMPLETE to approve, then ACCESS_TOKEN,
// TOKEN_TYPE, SCOPE, ME (the email /v1/me reports) and REVOKED.
import * as client from 'openid-client';

const issuer = new URL(process.env.GATEHOUSE_URL ?? 'http://127.0.0.1:8080');
const clientId = process.env.GATEHOUSE_CLIENT_ID ?? 'gatehouse-cli';

// Plain http is allowed only for a loopback test server; an https issuer
// needs no exception.
const execute = issuer.protocol === 'http:' ? [client.allowInsecureRequests] : [];

const config = await client.discovery(issuer, clientId, undefined, client.None(), {
  algorithm: 'oauth2', // RFC 8414 /.well-known/oauth-authorization-server, not OIDC
  execute,
});

const device = await client.initiateDeviceAuthorization(config, { scope: 'full' });
console.log(`USER_CODE ${device.user_code}`);
console.log(`VERIFICATION_URI_COMPLETE ${device.verification_uri_complete}`);

const tokens = await client.pollDeviceAuthorizationGrant(config, device);
console.log(`ACCESS_TOKEN ${tokens.access_token}`);
console.log(`TOKEN_TYPE ${tokens.token_type}`);
console.log(`SCOPE ${tokens.scope}`);

const me = await client.fetchProtectedResource(config, tokens.access_token, new URL('/v1/me', issuer), 'GET');
if (!me.ok) {
  throw new Error(`/v1/me answered ${me.status}`);
}
console.log(`ME ${(await me.json()).subject_email}`);

await client.tokenRevocation(config, tokens.access_token);
console.log('REVOKED');
