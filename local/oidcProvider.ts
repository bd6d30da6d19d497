/**
 * The local stand-in for the operators' Cognito user pool: panva's `oidc-provider` in this process, with the
 * console as its one (public, PKCE) client, JWT access tokens for the admin API carrying the operator's roles in
 * `groups`, and its own sign-in page. Accounts live in `<dir>/operators.json`, signing keys in
 * `<dir>/oidc-keys.json` (so tokens outlive a restart); the lockout and the provider's sessions and grants live in
 * the table, so every instance started on it shares them.
 */
import { promisify } from 'node:util';
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { z } from 'zod';
import type { Config } from '../shared/config.js';
import { dynamoDbClient } from '../shared/clients.js';
import { OPERATOR_ROLES, type OperatorRole } from '../shared/http/operatorRoles.js';

export const CONSOLE_CLIENT_ID = 'gamekeep-console';
/** The admin API as a resource server: its indicator at the provider and the audience of its access tokens. */
export const ADMIN_RESOURCE = 'urn:gamekeep:admin-api';
export const ADMIN_AUDIENCE = 'gamekeep-admin';
const ADMIN_SCOPE = 'admin';

export interface LockoutPolicy {
  /** Failed sign-ins of one account, within `windowMs` of the first, that lock it. */
  readonly failures: number;
  readonly windowMs: number;
  readonly lockMs: number;
}

export const DEFAULT_LOCKOUT: LockoutPolicy = { failures: 5, windowMs: 15 * 60_000, lockMs: 15 * 60_000 };

export interface OidcProviderOptions {
  /** Where `operators.json` and `oidc-keys.json` are (`.gamekeep`); created when absent. */
  readonly dir: string;
  /** The table the lockout, sessions and grants live in, shared by every provider started on it. */
  readonly config: Config;
  /** The console's redirect URIs, e.g. `http://127.0.0.1:3000/console/callback`. */
  readonly redirectUris: readonly string[];
  /** A free port when absent; give the same one across restarts to keep the issuer, and so the tokens, valid. */
  readonly port?: number;
  readonly host?: string;
  readonly lockout?: LockoutPolicy;
  /** The lockout's clock (tests move it forward); the provider's tokens keep the real one. */
  readonly now?: () => number;
}

/** An account made on this start, with the only copy of its password. */
export interface OperatorCredentials {
  readonly username: string;
  readonly password: string;
  readonly roles: readonly OperatorRole[];
}

export interface LocalOidcProvider {
  readonly issuer: string;
  readonly clientId: string;
  readonly audience: string;
  /** The accounts `operators.json` was created with on this start (none when it existed): print them once. */
  readonly createdAccounts: readonly OperatorCredentials[];
  stop(): Promise<void>;
}

export async function startOidcProvider(options: OidcProviderOptions): Promise<LocalOidcProvider> {
  mkdirSync(options.dir, { recursive: true });
  const keys = await signingKeys(join(options.dir, 'oidc-keys.json'));
  const { accounts, created } = await operatorAccounts(join(options.dir, 'operators.json'));
  const db = dynamoDbClient(options.config);
  const now = options.now ?? Date.now;
  const lockout = new SignInLockout(db, options.config.tableName, options.lockout ?? DEFAULT_LOCKOUT, now);

  let handle: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server: Server = createServer((req, res) => handle?.(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const host = options.host ?? '127.0.0.1';
  const issuer = `http://${host}:${(server.address() as AddressInfo).port}`;

  const { default: Provider, errors } = (await import(OIDC_PROVIDER)) as OidcProviderModule;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CONSOLE_CLIENT_ID,
        token_endpoint_auth_method: 'none',
        application_type: 'web',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: [...options.redirectUris],
      },
    ],
    adapter: tableAdapter(db, options.config.tableName),
    jwks: { keys: keys.jwks },
    cookies: {
      keys: keys.cookieKeys,
      names: { session: 'op_session', interaction: 'op_interaction', resume: 'op_interaction_resume' },
    },
    pkce: { required: () => true },
    scopes: ['openid', 'offline_access', 'profile'],
    claims: { openid: ['sub', 'groups'], profile: ['preferred_username'] },
    // The roles belong in the ID token too (as `cognito:groups` is in Cognito's), not only behind userinfo.
    conformIdTokenClaims: false,
    findAccount: async (_ctx: unknown, sub: string) => {
      const account = accounts.get(sub);
      return (
        account && {
          accountId: account.username,
          claims: async () => ({ sub: account.username, groups: account.roles, preferred_username: account.username }),
        }
      );
    },
    extraTokenClaims: async (_ctx: unknown, token: { accountId?: string }) => {
      const account = token.accountId ? accounts.get(token.accountId) : undefined;
      return account && { groups: account.roles, username: account.username };
    },
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }) =>
      client.grantTypeAllowed('refresh_token'),
    loadExistingGrant: firstPartyGrant,
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx: unknown, _client: unknown, oneOf?: string[]) =>
          oneOf ? (oneOf.includes(ADMIN_RESOURCE) ? ADMIN_RESOURCE : oneOf[0]) : ADMIN_RESOURCE,
        // The code's resource is the admin API's even though `openid` was asked for: the token is for the API.
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx: unknown, indicator: string) => {
          if (indicator !== ADMIN_RESOURCE) throw new errors.InvalidTarget();
          return {
            scope: ADMIN_SCOPE,
            audience: ADMIN_AUDIENCE,
            accessTokenTTL: 3600,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    clientBasedCORS: (_ctx: unknown, origin: string, client: { redirectUris: string[] }) =>
      client.redirectUris.some((uri) => new URL(uri).origin === origin),
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 600,
      Session: 12 * 3600,
      Grant: 12 * 3600,
      RefreshToken: 12 * 3600,
    },
    renderError: async (ctx: { type: string; body: string }, out: Record<string, string>) => {
      ctx.type = 'html';
      ctx.body = page(
        'Sign-in failed',
        `<h1>Sign-in failed</h1><p role="alert">${html(out.error_description ?? out.error ?? 'error')}</p>`,
      );
    },
  });
  provider.on('server_error', (_ctx, error) => console.error('[oidc]', error));

  const providerCallback = provider.callback();
  const signIn = new SignInPage(provider, accounts, lockout, now);
  handle = (req, res) => {
    const path = new URL(req.url ?? '/', issuer).pathname;
    if (!path.startsWith('/interaction/')) return providerCallback(req, res);
    signIn.serve(req, res, path).catch((error: unknown) => {
      console.error('[oidc]', error);
      if (!res.headersSent) sendPage(res, 500, page('Error', '<h1>Something went wrong</h1>'));
    });
  };

  return {
    issuer,
    clientId: CONSOLE_CLIENT_ID,
    audience: ADMIN_AUDIENCE,
    createdAccounts: created,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          db.destroy();
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}

// oidc-provider ships no type declarations: a string the compiler does not resolve, and the part used typed below.
const OIDC_PROVIDER: string = 'oidc-provider';

interface OidcProviderModule {
  default: new (issuer: string, configuration: Record<string, unknown>) => OidcProvider;
  errors: { InvalidTarget: new () => Error };
}

interface OidcProvider {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<{ uid: string; prompt: { name: string } }>;
  interactionFinished(
    req: IncomingMessage,
    res: ServerResponse,
    result: Record<string, unknown>,
    options: { mergeWithLastSubmission: boolean },
  ): Promise<void>;
  on(event: 'server_error', listener: (ctx: unknown, error: Error) => void): void;
}

interface Grant {
  readonly accountId: string;
  addOIDCScope(scope: string): void;
  addResourceScope(indicator: string, scope: string): void;
  save(): Promise<string>;
}

interface GrantContext {
  readonly oidc: {
    readonly client: { readonly clientId: string };
    readonly session: { readonly accountId?: string; grantIdFor(clientId: string): string | undefined };
    readonly result?: { consent?: { grantId?: string } };
    readonly requestParamOIDCScopes: Set<string>;
    readonly requestParamScopes: Set<string>;
    readonly resourceServers: Record<string, { readonly scopes: Set<string> }>;
    readonly provider: {
      Grant: {
        new (init: { accountId: string; clientId: string }): Grant;
        find(id: string): Promise<Grant | undefined>;
      };
    };
  };
}

/**
 * The console is first-party: its operator never sees a consent step. Its grant covers whatever it asks for (the
 * roles the admin API then checks are the operator's, not the grant's).
 */
async function firstPartyGrant(ctx: GrantContext): Promise<Grant | undefined> {
  const { client, session, result, provider } = ctx.oidc;
  const grantId = result?.consent?.grantId ?? session.grantIdFor(client.clientId);
  const existing = grantId ? await provider.Grant.find(grantId) : undefined;
  if (client.clientId !== CONSOLE_CLIENT_ID || !session.accountId) return existing;
  const grant =
    existing?.accountId === session.accountId
      ? existing
      : new provider.Grant({ accountId: session.accountId, clientId: client.clientId });
  grant.addOIDCScope([...ctx.oidc.requestParamOIDCScopes].join(' '));
  for (const [indicator, server] of Object.entries(ctx.oidc.resourceServers))
    grant.addResourceScope(indicator, [...ctx.oidc.requestParamScopes].filter((s) => server.scopes.has(s)).join(' '));
  await grant.save();
  return grant;
}

// --- Accounts -------------------------------------------------------------------------------------------------

const usernameSchema = z.string().regex(/^[a-z0-9][a-z0-9._@-]{0,63}$/, 'must be 1-64 of a-z 0-9 . _ @ -');
const accountsFile = z.strictObject({
  operators: z.array(
    z.strictObject({
      username: usernameSchema,
      roles: z.array(z.enum(OPERATOR_ROLES)).min(1),
      /** `scrypt$N$r$p$<salt>$<hash>`, base64url. */
      passwordHash: z.string().regex(/^scrypt\$\d+\$\d+\$\d+\$[\w-]+\$[\w-]+$/),
    }),
  ),
});
type Account = z.infer<typeof accountsFile>['operators'][number];

const scrypt = promisify(scryptCallback) as (
  password: string,
  salt: Buffer,
  length: number,
  options: { N: number; r: number; p: number },
) => Promise<Buffer>;
const SCRYPT = { N: 16384, r: 8, p: 1 } as const;

async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, 32, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

async function passwordMatches(password: string, stored: string): Promise<boolean> {
  const [, n, r, p, salt, hash] = stored.split('$');
  const expected = Buffer.from(hash!, 'base64url');
  const actual = await scrypt(password, Buffer.from(salt!, 'base64url'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  });
  return timingSafeEqual(actual, expected);
}

/** The accounts, or one per role with a random password when the file is absent (the passwords leave only once). */
async function operatorAccounts(
  file: string,
): Promise<{ accounts: Map<string, Account>; created: OperatorCredentials[] }> {
  const created: OperatorCredentials[] = [];
  if (!existsSync(file)) {
    const operators: Account[] = [];
    for (const role of OPERATOR_ROLES) {
      const password = randomBytes(18).toString('base64url');
      operators.push({ username: role, roles: [role], passwordHash: await hashPassword(password) });
      created.push({ username: role, password, roles: [role] });
    }
    writeFileSync(file, `${JSON.stringify({ operators }, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  }
  const { operators } = accountsFile.parse(JSON.parse(readFileSync(file, 'utf8')));
  return { accounts: new Map(operators.map((a) => [a.username, a])), created };
}

// --- Keys -----------------------------------------------------------------------------------------------------

const keysFile = z.object({
  jwks: z.array(z.record(z.string(), z.unknown())).min(1),
  cookieKeys: z.array(z.string().min(32)).min(1),
});

/** The provider's RS256 signing key and cookie keys, generated on first start. */
async function signingKeys(file: string): Promise<z.infer<typeof keysFile>> {
  if (!existsSync(file)) {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = privateKey.export({ format: 'jwk' }) as JWK;
    const kid = await calculateJwkThumbprint(jwk);
    const keys = {
      jwks: [{ ...jwk, kid, alg: 'RS256', use: 'sig' }],
      cookieKeys: [randomBytes(32).toString('base64url')],
    };
    writeFileSync(file, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  }
  return keysFile.parse(JSON.parse(readFileSync(file, 'utf8')));
}

// --- Lockout --------------------------------------------------------------------------------------------------

const isConditionFailure = (error: unknown): boolean =>
  (error as Error | undefined)?.name === 'ConditionalCheckFailedException';

/**
 * Failed sign-ins per account, in one table item (`OPLOCK#<username>` / `LOCK`) every provider instance updates
 * with conditional writes: `failures` counted since `windowStart`, `lockedUntil` once they reach the policy's
 * count within its window. The TTL only tidies; every decision reads the times.
 */
class SignInLockout {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly policy: LockoutPolicy,
    private readonly now: () => number,
  ) {}

  /** When the account's lock ends, if it is locked. */
  async lockedUntil(username: string): Promise<number | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: this.key(username), ConsistentRead: true }),
    );
    const until = Item?.lockedUntil as number | undefined;
    return until !== undefined && until > this.now() ? until : undefined;
  }

  /** Counts a failure; the time the lock ends when the account is (now) locked. */
  async recordFailure(username: string): Promise<number | undefined> {
    const now = this.now();
    const values = {
      ':one': 1,
      ':now': now,
      ':floor': now - this.policy.windowMs,
      ':ttl': ttlOf(now + this.policy.windowMs + this.policy.lockMs),
    };
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        // Within an open window that has not locked yet: one more.
        const { Attributes } = await this.db.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: this.key(username),
            UpdateExpression: 'ADD failures :one SET #ttl = :ttl',
            ConditionExpression: 'windowStart > :floor AND attribute_not_exists(lockedUntil)',
            ExpressionAttributeNames: { '#ttl': 'ttl' },
            ExpressionAttributeValues: { ':one': 1, ':floor': values[':floor'], ':ttl': values[':ttl'] },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return (Attributes?.failures as number) >= this.policy.failures ? this.lock(username, now) : undefined;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
      try {
        // No item, a window that ran out without locking, or a lock that ended: a new window.
        await this.db.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: this.key(username),
            UpdateExpression: 'SET failures = :one, windowStart = :now, #ttl = :ttl REMOVE lockedUntil',
            ConditionExpression:
              'attribute_not_exists(pk) OR (windowStart <= :floor AND attribute_not_exists(lockedUntil)) OR lockedUntil <= :now',
            ExpressionAttributeNames: { '#ttl': 'ttl' },
            ExpressionAttributeValues: values,
          }),
        );
        return this.policy.failures <= 1 ? this.lock(username, now) : undefined;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
      // Locked, or another instance opened a window between the two writes: look, then count in it.
      const until = await this.lockedUntil(username);
      if (until !== undefined) return until;
    }
    throw new Error(`sign-in failures of ${username} could not be counted: too much contention`);
  }

  /** A successful sign-in forgets the failures, unless a lock landed meanwhile. */
  async clear(username: string): Promise<void> {
    try {
      await this.db.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: this.key(username),
          ConditionExpression: 'attribute_not_exists(lockedUntil) OR lockedUntil <= :now',
          ExpressionAttributeValues: { ':now': this.now() },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  private async lock(username: string, now: number): Promise<number> {
    const until = now + this.policy.lockMs;
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(username),
          UpdateExpression: 'SET lockedUntil = :until, #ttl = :ttl',
          ConditionExpression: 'failures >= :max AND attribute_not_exists(lockedUntil)',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':until': until, ':max': this.policy.failures, ':ttl': ttlOf(until) + 60 },
        }),
      );
      return until;
    } catch (error) {
      // Another instance locked it first.
      if (!isConditionFailure(error)) throw error;
      return (await this.lockedUntil(username)) ?? until;
    }
  }

  private key(username: string) {
    return { pk: `OPLOCK#${username}`, sk: 'LOCK' };
  }
}

const ttlOf = (ms: number): number => Math.ceil(ms / 1000);

// --- The provider's storage -----------------------------------------------------------------------------------

/** Models whose items a grant's revocation removes (oidc-provider's own list). */
const GRANTABLE = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
]);

/**
 * oidc-provider's adapter over the table: `OIDC#<model>#<id>` / `OIDC` holds a model's payload (as JSON, as the
 * provider gives it), `OIDC#SessionUid#<uid>` points at a session, and a grant's partition `OIDC#Grant#<grantId>`
 * lists its tokens (`M#<model>#<id>`) beside the grant itself, for revocation. Ids are the provider's
 * (base64url), so no key can name another item. The TTL tidies; reads check the expiry.
 */
function tableAdapter(db: DynamoDBDocumentClient, tableName: string) {
  const pk = (model: string, id: string) => `OIDC#${model}#${id}`;
  const nowSeconds = () => Math.floor(Date.now() / 1000);
  return class TableAdapter {
    constructor(private readonly model: string) {}

    async upsert(id: string, payload: Record<string, unknown>, expiresIn?: number): Promise<void> {
      const ttl = expiresIn ? nowSeconds() + expiresIn : undefined;
      const put = (item: Record<string, unknown>) =>
        db.send(new PutCommand({ TableName: tableName, Item: { ...item, ...(ttl ? { ttl } : {}) } }));
      await put({ pk: pk(this.model, id), sk: 'OIDC', data: JSON.stringify(payload) });
      if (this.model === 'Session' && typeof payload.uid === 'string')
        await put({ pk: pk('SessionUid', payload.uid), sk: 'OIDC', id });
      if (GRANTABLE.has(this.model) && typeof payload.grantId === 'string')
        await put({ pk: pk('Grant', payload.grantId), sk: `M#${this.model}#${id}` });
    }

    async find(id: string): Promise<Record<string, unknown> | undefined> {
      const { Item } = await db.send(
        new GetCommand({ TableName: tableName, Key: { pk: pk(this.model, id), sk: 'OIDC' }, ConsistentRead: true }),
      );
      if (!Item || (typeof Item.ttl === 'number' && Item.ttl <= nowSeconds())) return undefined;
      const payload = JSON.parse(Item.data as string) as Record<string, unknown>;
      return Item.consumed === undefined ? payload : { ...payload, consumed: Item.consumed };
    }

    async findByUid(uid: string): Promise<Record<string, unknown> | undefined> {
      const { Item } = await db.send(
        new GetCommand({ TableName: tableName, Key: { pk: pk('SessionUid', uid), sk: 'OIDC' }, ConsistentRead: true }),
      );
      return typeof Item?.id === 'string' ? this.find(Item.id) : undefined;
    }

    /** The device flow is off. */
    async findByUserCode(): Promise<undefined> {
      return undefined;
    }

    async consume(id: string): Promise<void> {
      await db.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { pk: pk(this.model, id), sk: 'OIDC' },
          UpdateExpression: 'SET #consumed = :now',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#consumed': 'consumed' },
          ExpressionAttributeValues: { ':now': nowSeconds() },
        }),
      );
    }

    async destroy(id: string): Promise<void> {
      await db.send(new DeleteCommand({ TableName: tableName, Key: { pk: pk(this.model, id), sk: 'OIDC' } }));
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      let start: Record<string, unknown> | undefined;
      do {
        const page = await db.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :members)',
            ExpressionAttributeValues: { ':pk': pk('Grant', grantId), ':members': 'M#' },
            ConsistentRead: true,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        for (const member of page.Items ?? []) {
          const [, model, id] = /^M#([^#]+)#(.+)$/.exec(member.sk as string) ?? [];
          if (model && id)
            await db.send(new DeleteCommand({ TableName: tableName, Key: { pk: pk(model, id), sk: 'OIDC' } }));
          await db.send(new DeleteCommand({ TableName: tableName, Key: { pk: member.pk, sk: member.sk } }));
        }
        start = page.LastEvaluatedKey;
      } while (start);
    }
  };
}

// --- The sign-in page -----------------------------------------------------------------------------------------

const FORM_LIMIT = 8 * 1024;

class SignInPage {
  /** A hash to compare against when the user name is unknown, so that answer takes as long as a wrong password. */
  private readonly decoy = hashPassword(randomBytes(18).toString('base64url'));

  constructor(
    private readonly provider: OidcProvider,
    private readonly accounts: ReadonlyMap<string, Account>,
    private readonly lockout: SignInLockout,
    private readonly now: () => number,
  ) {}

  async serve(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const match = /^\/interaction\/([\w-]+)(\/login)?$/.exec(path);
    if (!match) return sendPage(res, 404, page('Not found', '<h1>Not found</h1>'));
    const [, uid, login] = match;
    const post = req.method === 'POST';
    if (post !== (login !== undefined)) return sendPage(res, 405, page('Not allowed', '<h1>Not allowed</h1>'));
    const form = post ? await readForm(req) : undefined;
    let details: Awaited<ReturnType<OidcProvider['interactionDetails']>>;
    try {
      details = await this.provider.interactionDetails(req, res);
    } catch {
      return sendPage(res, 400, expiredPage());
    }
    if (details.uid !== uid || details.prompt.name !== 'login') return sendPage(res, 400, expiredPage());
    if (!form) return sendPage(res, 200, loginPage(uid));

    const username = (form.get('username') ?? '').trim().toLowerCase();
    const password = form.get('password') ?? '';
    const account = usernameSchema.safeParse(username).success ? this.accounts.get(username) : undefined;
    const refuse = (message: string) => sendPage(res, 401, loginPage(uid, username, message));
    if (!account) {
      await passwordMatches(password, await this.decoy);
      return refuse('Wrong username or password.');
    }
    const locked = await this.lockout.lockedUntil(account.username);
    if (locked !== undefined) return refuse(this.lockedMessage(locked));
    if (!(await passwordMatches(password, account.passwordHash))) {
      const until = await this.lockout.recordFailure(account.username);
      return refuse(until === undefined ? 'Wrong username or password.' : this.lockedMessage(until));
    }
    await this.lockout.clear(account.username);
    await this.provider.interactionFinished(
      req,
      res,
      { login: { accountId: account.username } },
      { mergeWithLastSubmission: false },
    );
  }

  private lockedMessage(until: number): string {
    const minutes = Math.max(1, Math.ceil((until - this.now()) / 60_000));
    return `This account is locked after too many failed sign-ins. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`;
  }
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > FORM_LIMIT) break;
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function loginPage(uid: string, username = '', error?: string): string {
  return page(
    'Sign in',
    `<h1>Sign in to the Gamekeep console</h1>
${error ? `<p role="alert">${html(error)}</p>` : ''}
<form method="post" action="/interaction/${html(uid)}/login">
  <label for="username">Username</label>
  <input id="username" name="username" autocomplete="username" autocapitalize="none" required value="${html(username)}"${username ? '' : ' autofocus'}>
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required${username ? ' autofocus' : ''}>
  <button type="submit">Sign in</button>
</form>`,
  );
}

function expiredPage(): string {
  return page('Sign-in expired', '<h1>This sign-in has expired</h1><p role="alert">Start again from the console.</p>');
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${html(title)} · Gamekeep</title>
<style>
body{font-family:system-ui,sans-serif;max-width:22rem;margin:4rem auto;padding:0 1rem}
form{display:grid;gap:.5rem}input,button{font:inherit;padding:.5rem}
[role=alert]{color:#a00;border:1px solid #a00;padding:.5rem}
</style>
</head>
<body><main>
${body}
</main></body>
</html>
`;
}

function sendPage(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'x-frame-options': 'DENY',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  });
  res.end(body);
}

const html = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
