// A second independent OpenID4VCI issuer and OpenID4VP verifier, on Sphereon's OID4VC libraries
// (@sphereon/oid4vci-issuer's VcIssuer and token functions; @sphereon/did-auth-siop's RP), for OUR
// wallet's interoperability test (tests/test_interop2_wallet.py). Test-only: plain http on 127.0.0.1.
//
// The protocol work (offer sessions, the token request with the PIN, the c_nonce state, the key proof
// and Credential Request checks; the Request Object, the response and its DCQL vp_token) is the
// libraries'; this file wires HTTP to them, supplies keys, and signs the SD-JWT VC with @sd-jwt/sd-jwt-vc.
//
// Test-only endpoints (JSON): POST /admin/offer, POST /admin/request, GET /admin/result/<id>.
// On start it prints one line, {"port": N}, to stdout.
import crypto from 'node:crypto'
import http from 'node:http'
import * as jose from 'jose'
import { MemoryStates, VcIssuer, assertValidAccessTokenRequest, createAccessTokenResponse } from '@sphereon/oid4vci-issuer'
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc'
import { digest, generateSalt } from '@sd-jwt/crypto-nodejs'
import { verifier as makeVerifier } from './rp.mjs'

const VCT = 'urn:amana:credential:SkillCertificate:1'
const b64u = (bytes) => Buffer.from(bytes).toString('base64url')
const random = (n = 16) => b64u(crypto.randomBytes(n))

const server = http.createServer((req, res) => handle(req, res).catch((error) => {
  const status = error.statusCode ?? 400
  send(res, status, { error: error.error ?? 'invalid_request', error_description: String(error?.message ?? error) })
}))
await new Promise((resolve) => server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', resolve))
const base = `http://127.0.0.1:${server.address().port}`
const issuerId = `${base}/issuer`

// ---- keys -----------------------------------------------------------------------------------
const issuerKeys = await jose.generateKeyPair('ES256', { extractable: true })
const issuerJwk = { ...(await jose.exportJWK(issuerKeys.publicKey)), kid: 'issuer-1', alg: 'ES256' }
const tokenKeys = await jose.generateKeyPair('ES256', { extractable: true })

// ---- issuer (pre-authorized code with tx_code) ------------------------------------------------
const credentialIssuerMetadata = {
  credential_issuer: issuerId,
  credential_endpoint: `${issuerId}/credential`,
  nonce_endpoint: `${issuerId}/nonce`,
  display: [{ name: 'Sphereon interop issuer', locale: 'en' }],
  credential_configurations_supported: {
    SkillCertificate: {
      format: 'dc+sd-jwt', vct: VCT, cryptographic_binding_methods_supported: ['jwk'],
      credential_signing_alg_values_supported: ['ES256'],
      proof_types_supported: { jwt: { proof_signing_alg_values_supported: ['ES256'] } },
      credential_metadata: { display: [{ name: 'Skill certificate', locale: 'en' }] },
    },
  },
}
const asMetadata = {
  issuer: issuerId, token_endpoint: `${issuerId}/token`, 'pre-authorized_grant_anonymous_access_supported': true,
  grant_types_supported: ['urn:ietf:params:oauth:grant-type:pre-authorized_code'],
}
const sessions = new MemoryStates()
const cNonces = new MemoryStates()
const issued = [] // what the issuer signed, for the test to compare

/** The key proof: the library checks typ, alg, nonce state and the request; this checks the signature. */
async function jwtVerifyCallback({ jwt }) {
  const header = jose.decodeProtectedHeader(jwt)
  if (!header.jwk) throw new Error('the proof carries no jwk')
  const { payload } = await jose.jwtVerify(jwt, await jose.importJWK(header.jwk, header.alg), { audience: issuerId })
  return { jwt: { header, payload }, jwk: header.jwk, alg: header.alg }
}

const sdjwt = new SDJwtVcInstance({
  hasher: digest, hashAlg: 'sha-256', saltGenerator: generateSalt, signAlg: 'ES256',
  signer: async (data) => b64u(crypto.sign('sha256', Buffer.from(data), { key: issuerKeys.privateKey, dsaEncoding: 'ieee-p1363' })),
})

async function credentialSignerCallback({ credential, jwtVerifyResult }) {
  const { __disclosureFrame, ...claims } = credential
  const payload = { iss: issuerId, vct: VCT, iat: Math.floor(Date.now() / 1000), cnf: { jwk: jwtVerifyResult.jwk }, ...claims }
  const vc = await sdjwt.issue(payload, __disclosureFrame, { header: { kid: issuerJwk.kid } })
  issued.push(vc)
  return vc
}

const vcIssuer = new VcIssuer(credentialIssuerMetadata, asMetadata, {
  credentialOfferSessions: sessions, cNonces, uris: new MemoryStates(), cNonceExpiresIn: 300,
  jwtVerifyCallback, credentialSignerCallback,
  credentialDataSupplier: async ({ credentialDataSupplierInput }) => ({
    format: 'dc+sd-jwt',
    credential: { ...credentialDataSupplierInput, __disclosureFrame: { _sd: Object.keys(credentialDataSupplierInput) } },
  }),
})

async function adminOffer(body) {
  const code = random()
  const made = await vcIssuer.createCredentialOfferURI({
    offerMode: 'REFERENCE', credentialOfferUri: `${issuerId}/offers/${code}`, scheme: 'openid-credential-offer',
    credential_configuration_ids: ['SkillCertificate'],
    grants: { 'urn:ietf:params:oauth:grant-type:pre-authorized_code': {
      'pre-authorized_code': code, tx_code: { input_mode: 'numeric', length: 6 } } },
    pinLength: 6, credentialDataSupplierInput: body.claims,
  })
  return { link: made.uri, pin: made.userPin, code }
}

/** The token endpoint as @sphereon/oid4vci-issuer-server wires it: the request (grant, code, tx_code)
 * checked by assertValidAccessTokenRequest, then the response. The second alone checks no PIN. */
async function token(form) {
  try {
    await assertValidAccessTokenRequest(form, { credentialOfferSessions: sessions, expirationDuration: 300 })
  } catch (error) {
    throw Object.assign(new Error(error.getDescription?.() ?? String(error.message)), { statusCode: error.statusCode ?? 400,
      error: error.responseError ?? 'invalid_grant' })
  }
  const response = await createAccessTokenResponse(form, {
    credentialOfferSessions: sessions, cNonces, tokenExpiresIn: 300, accessTokenIssuer: issuerId,
    accessTokenSignerCallback: async (jwt) => new jose.SignJWT(jwt.payload).setProtectedHeader({ ...jwt.header, alg: 'ES256' })
      .sign(tokenKeys.privateKey),
  })
  return response
}

async function credential(req, body) {
  const [scheme, value] = (req.headers.authorization ?? '').split(' ')
  if (scheme !== 'Bearer' || !value) throw Object.assign(new Error('no bearer token'), { statusCode: 401, error: 'invalid_token' })
  let payload
  try {
    ({ payload } = await jose.jwtVerify(value, tokenKeys.publicKey, { issuer: issuerId }))
  } catch (error) {
    throw Object.assign(new Error(String(error.message)), { statusCode: 401, error: 'invalid_token' })
  }
  return vcIssuer.issueCredential({ credentialRequest: body, issuerCorrelation: { preAuthorizedCode: payload.preAuthorizedCode } })
}

// ---- verifier ---------------------------------------------------------------------------------
const verifier = await makeVerifier(base)

// ---- HTTP -------------------------------------------------------------------------------------
function send(res, status, body, type = 'application/json') {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' })
  res.end(typeof body === 'string' ? body : JSON.stringify(body))
}

async function handle(req, res) {
  const chunks = []
  for await (const chunk of req) chunks.push(chunk)
  const text = Buffer.concat(chunks).toString('utf8')
  const url = new URL(req.url, base)
  const type = req.headers['content-type'] ?? ''
  const body = type.startsWith('application/json') ? JSON.parse(text || '{}') : Object.fromEntries(new URLSearchParams(text))
  const path = url.pathname, get = req.method === 'GET', post = req.method === 'POST'
  let m
  if (post && path === '/admin/offer') return send(res, 200, await adminOffer(body))
  if (get && path === '/admin/issued') return send(res, 200, { issued })
  if (post && path === '/admin/request') return send(res, 200, await verifier.request(body))
  if (get && (m = path.match(/^\/admin\/result\/([\w-]+)$/))) return send(res, 200, { result: verifier.result(m[1]) })
  if (get && (m = path.match(/^\/issuer\/offers\/([\w-]+)$/))) {
    const session = await sessions.get(m[1])
    return session ? send(res, 200, session.credentialOffer.credential_offer) : send(res, 404, { error: 'not_found' })
  }
  // RFC 8414 section 3.1 and OpenID4VCI section 12.2.2 insert the suffix after the host
  if (get && path === '/.well-known/openid-credential-issuer/issuer') return send(res, 200, credentialIssuerMetadata)
  if (get && path === '/.well-known/oauth-authorization-server/issuer') return send(res, 200, asMetadata)
  if (get && path === '/.well-known/jwt-vc-issuer/issuer') return send(res, 200, { issuer: issuerId, jwks: { keys: [issuerJwk] } })
  if (post && path === '/issuer/token') return send(res, 200, await token(body))
  if (post && path === '/issuer/nonce') {
    const cNonce = random()
    await cNonces.set(cNonce, { cNonce, createdAt: Date.now() })
    return send(res, 200, { c_nonce: cNonce })
  }
  if (post && path === '/issuer/credential') return send(res, 200, await credential(req, body))
  if (await verifier.handle(req, res, { path, body, get, post, send })) return undefined
  return send(res, 404, { error: 'not_found' })
}

process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`)
