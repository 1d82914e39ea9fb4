// An HTTP API JWT authorizer (API Gateway developer guide, "Control access to HTTP APIs with
// JWT authorizers"): the token from the identity source (bare, or after `Bearer `), its
// signature checked with the issuer's key whose `kid` the token names (jwks_uri from the
// issuer's /.well-known/openid-configuration), RSA algorithms only, then `iss`, `aud` (or
// `client_id` when there is no `aud`), `exp`, `nbf` and `iat`. "kid: The token must have a
// header claim that matches the key in the jwks_uri that signed the token": a token without
// one is refused, even where the issuer publishes a single key. "exp: Must be after the
// current time in UTC": a token without one is refused too (that no `exp` fails is assumed,
// docs/verified.md). A refusal is
// `401 {"message":"Unauthorized"}` with a `www-authenticate` header naming the reason
// ("Troubleshooting issues with HTTP API JWT authorizers"). The wording of reasons other than
// the documented audience one is assumed (docs/verified.md).
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  jwtVerify,
} from 'jose';

export interface JwtAuthorizerConfig {
  issuer: string;
  audience: string[];
}

export type JwtVerdict =
  | { ok: true; claims: JWTPayload }
  | { ok: false; status: 401; body: string; headers: Record<string, string> };

/** RSA signatures only: "Currently, only RSA-based algorithms are supported." */
const RSA_ALGORITHMS = ['RS256', 'RS384', 'RS512'];

function refuse(description?: string): JwtVerdict {
  return {
    ok: false,
    status: 401,
    body: JSON.stringify({ message: 'Unauthorized' }),
    headers: description
      ? {
          'www-authenticate': `Bearer scope="" error="invalid_token" error_description="${description}"`,
        }
      : {},
  };
}

function reasonOf(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'the token has expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return `the token has no ${error.claim} claim`;
    if (error.claim === 'iss') return 'the token does not have a valid issuer';
    if (error.claim === 'nbf') return 'the token is not valid yet';
    return `the token has an invalid ${error.claim} claim`;
  }
  if (error instanceof errors.JWKSNoMatchingKey) return 'the token has no key the issuer publishes';
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return 'the token has an invalid signature';
  return 'the token is invalid';
}

function audienceMatches(claims: JWTPayload, audience: string[]): boolean {
  // `client_id` is consulted only when `aud` is absent.
  if (claims.aud !== undefined) {
    const auds = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    return auds.some((a) => audience.includes(a));
  }
  return audience.some((name) => name === claims.client_id);
}

/** The authorizer, fetching and caching the issuer's keys as API Gateway does (jose's cache). */
export function createJwtAuthorizer(config: JwtAuthorizerConfig) {
  let keys: ReturnType<typeof createRemoteJWKSet> | undefined;
  const keySet = async () => {
    if (keys) return keys;
    const discovery = await fetch(new URL('.well-known/openid-configuration', `${config.issuer}/`));
    const { jwks_uri } = (await discovery.json()) as { jwks_uri: string };
    keys = createRemoteJWKSet(new URL(jwks_uri));
    return keys;
  };
  return async function authorize(identity: string | undefined): Promise<JwtVerdict> {
    // Node's HTTP parser has already trimmed the header value.
    const token = identity?.replace(/^Bearer\s+/i, '');
    if (!token) return refuse();
    try {
      if (decodeProtectedHeader(token).kid === undefined) return refuse('the token has no kid');
      const { payload } = await jwtVerify(token, await keySet(), {
        issuer: config.issuer,
        algorithms: RSA_ALGORITHMS,
        requiredClaims: ['exp'],
      });
      // jose checks only that iat is a number; API Gateway also refuses one in the future.
      if ((payload.iat ?? 0) > Date.now() / 1000) {
        return refuse('the token was issued in the future');
      }
      if (!audienceMatches(payload, config.audience)) {
        return refuse('the token does not have a valid audience');
      }
      return { ok: true, claims: payload };
    } catch (error) {
      return refuse(reasonOf(error));
    }
  };
}
