// An OpenID Provider for the desk's tests: panva's oidc-provider on loopback, configured from a JSON file.
//
//   node provider.mjs CONFIG.json
//
// CONFIG: {"issuer", "host", "port", "client": {client_id, client_secret, redirect_uris,
// post_logout_redirect_uris}, "accounts": "/path/accounts.json"}. The accounts file is read on every
// sign-in and every token, so a test changes a person (their groups, their e-mail, whether they exist)
// by rewriting it: {"<sub>": {"login": "fiona", "password": "…", "claims": {"email": …, "groups": […]}}}.
// The provider signs with an RSA key made at start; people sign in on a plain form (user name and
// password) with a Cancel button, and the desk is granted its scopes without a consent screen.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const SCOPES = 'openid email profile groups';

function accounts() {
  return JSON.parse(readFileSync(config.accounts, 'utf8'));
}

function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' };
}

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title></head>`
    + `<body><h1>${escape(title)}</h1>${body}</body></html>`;
}

async function formOf(ctx) {
  let raw = '';
  for await (const chunk of ctx.req) raw += chunk;
  return new URLSearchParams(raw);
}

const provider = new Provider(config.issuer, {
  clients: [{
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...config.client,
  }],
  jwks: { keys: [signingKey()] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  scopes: SCOPES.split(' '),
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    groups: ['groups'],
  },
  features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true } },
  pkce: { required: () => true },
  async findAccount(ctx, sub) {
    const account = accounts()[sub];
    if (!account) return undefined;
    return { accountId: sub, async claims() { return { ...account.claims, sub }; } };
  },
  // The desk is the company's own application: it gets its scopes without a consent screen.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      const grant = await ctx.oidc.provider.Grant.find(grantId);
      if (grant) return grant;
    }
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope(SCOPES);
    await grant.save();
    return grant;
  },
});

// Someone taken out of the accounts file loses their session here, as a company's provider ends a
// leaver's sessions: a silent sign-in (prompt=none) then answers login_required.
provider.use(async (ctx, next) => {
  if (ctx.path === '/auth') {
    const session = await provider.Session.get(ctx);
    if (session.accountId && !accounts()[session.accountId]) await session.destroy();
  }
  return next();
});

provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([\w-]+)(?:\/(login|abort))?$/);
  if (!match) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (ctx.method === 'GET') {
    ctx.type = 'html';
    ctx.body = page('Sign in to the test provider', `
      <form method="post" action="/interaction/${escape(details.uid)}/login">
        <label for="login">User name</label><input id="login" name="login" autocomplete="username">
        <label for="password">Password</label><input id="password" name="password" type="password">
        <button type="submit">Sign in</button>
        <button type="submit" formaction="/interaction/${escape(details.uid)}/abort">Cancel</button>
      </form>`);
    return undefined;
  }
  if (match[2] === 'abort') {
    return provider.interactionFinished(ctx.req, ctx.res, {
      error: 'access_denied', error_description: 'The person cancelled the sign-in.',
    }, { mergeWithLastSubmission: false });
  }
  const form = await formOf(ctx);
  const found = Object.entries(accounts()).find(([, account]) => account.login === form.get('login'));
  if (!found || found[1].password !== form.get('password')) {
    ctx.status = 401;
    ctx.type = 'html';
    ctx.body = page('Wrong user name or password', `<a href="/interaction/${escape(details.uid)}">Try again</a>`);
    return undefined;
  }
  return provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: found[0] } }, { mergeWithLastSubmission: false });
});

provider.listen(config.port, config.host, () => {
  process.stdout.write(`listening on ${config.issuer}\n`);
});
