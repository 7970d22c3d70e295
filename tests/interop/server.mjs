// An independent OpenID4VCI 1.0 issuer and OpenID4VP 1.0 verifier, built on the OpenWallet
// Foundation's oid4vc-ts libraries (@openid4vc/*) and @sd-jwt/sd-jwt-vc, for the wallet's
// interoperability test (tests/test_wallet_interop.py). Test-only: plain http on 127.0.0.1.
//
// The protocol work (offer, metadata, token, nonce, credential request parsing and proof
// verification, the Request Object, response parsing and JWE decryption dispatch, SD-JWT VC
// issuance and verification) is the libraries'; this file only wires HTTP to them and keeps
// state in memory. Crypto callbacks use `jose`, as the libraries' own tests do.
//
// Test-only endpoints (JSON): POST /admin/offer, POST /admin/request, GET /admin/result/<id>.
// On start it prints one line, {"port": N}, to stdout.
import crypto from 'node:crypto'
import http from 'node:http'
import * as jose from 'jose'
import {
  HashAlgorithm, Oauth2AuthorizationServer, Oauth2ResourceServer, Oauth2ResourceUnauthorizedError, Oauth2ServerErrorResponseError,
  calculateJwkThumbprint, clientAuthenticationNone, preAuthorizedCodeGrantIdentifier,
} from '@openid4vc/oauth2'
import { Openid4vciIssuer, Openid4vciVersion } from '@openid4vc/openid4vci'
import { Openid4vpVerifier } from '@openid4vc/openid4vp'
import { setGlobalConfig } from '@openid4vc/utils'
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc'
import { digest, generateSalt } from '@sd-jwt/crypto-nodejs'

setGlobalConfig({ allowInsecureUrls: true }) // loopback http, like the node's local mode

const VCT = 'urn:amana:credential:SkillCertificate:1'
const b64u = (bytes) => Buffer.from(bytes).toString('base64url')
const random = (n = 16) => b64u(crypto.randomBytes(n))

async function es256Key(kid) {
  const { privateKey } = await jose.generateKeyPair('ES256', { extractable: true })
  const priv = { ...(await jose.exportJWK(privateKey)), kid }
  const { d, ...pub } = priv
  return { priv, pub }
}

const privateKeys = [] // every private JWK this server signs with
const thumbprint = (jwk) => calculateJwkThumbprint({ jwk, hashAlgorithm: HashAlgorithm.Sha256, hashCallback: callbacksHash })
function callbacksHash(data, alg) { return crypto.createHash(alg.replace('-', '').toLowerCase()).update(data).digest() }

async function signJwt(signer, { header, payload }) {
  let publicJwk
  if (signer.method === 'jwk') publicJwk = signer.publicJwk
  else if (signer.method === 'did') publicJwk = JSON.parse(Buffer.from(signer.didUrl.split('#')[0].slice(8), 'base64url'))
  else if (signer.method === 'x5c') publicJwk = x509?.pub
  else throw new Error(`signer method ${signer.method} not supported here`)
  const want = await thumbprint(publicJwk)
  let priv
  for (const k of privateKeys) if ((await thumbprint(k.pub)) === want) priv = k.priv
  if (!priv) throw new Error('no private key for this signer')
  const jwt = await new jose.SignJWT(payload).setProtectedHeader(header).sign(await jose.importJWK(priv, signer.alg))
  return { jwt, signerJwk: publicJwk }
}

async function verifyJwt(signer, { compact }) {
  try {
    let jwk = signer.publicJwk
    if (signer.method === 'did') jwk = JSON.parse(Buffer.from(signer.didUrl.split('#')[0].slice(8), 'base64url'))
    await jose.compactVerify(compact, await jose.importJWK(jwk, signer.alg))
    return { verified: true, signerJwk: jwk }
  } catch {
    return { verified: false }
  }
}

const encryptionKeys = new Map() // kid -> { priv, enc }: the verifier's response-encryption keys

async function decryptJwe(jwe, options) {
  const { kid } = jose.decodeProtectedHeader(jwe)
  const key = encryptionKeys.get(kid ?? options?.jwk?.kid)
  if (!key) return { decrypted: false }
  try {
    const { plaintext } = await jose.compactDecrypt(jwe, await jose.importJWK(key.priv, 'ECDH-ES'), {
      keyManagementAlgorithms: ['ECDH-ES'], contentEncryptionAlgorithms: [key.enc],
    })
    const { d, ...pub } = key.priv
    return { decrypted: true, payload: new TextDecoder().decode(plaintext), decryptionJwk: pub }
  } catch {
    return { decrypted: false }
  }
}

const callbacks = {
  hash: callbacksHash, generateRandom: (n) => crypto.randomBytes(n), signJwt, verifyJwt, decryptJwe,
  clientAuthentication: clientAuthenticationNone({ clientId: 'interop' }), fetch,
}

// ---- keys ---------------------------------------------------------------------------------
const asKey = await es256Key('as-1')
const issuerKey = await es256Key('issuer-1')
const verifierKey = await es256Key('verifier-1')
privateKeys.push(asKey, issuerKey, verifierKey)
const didJwk = `did:jwk:${b64u(JSON.stringify({ kty: verifierKey.pub.kty, crv: verifierKey.pub.crv, x: verifierKey.pub.x, y: verifierKey.pub.y }))}`
// x509_hash: the test hands a self-signed certificate and its key (Node cannot make one alone)
let x509 = null
if (process.env.INTEROP_X509_KEY && process.env.INTEROP_X509_CERT) {
  const priv = JSON.parse(process.env.INTEROP_X509_KEY)
  const { d, ...pub } = priv
  x509 = { priv, pub, cert: process.env.INTEROP_X509_CERT }
  privateKeys.push(x509)
}

const server = http.createServer((req, res) => handle(req, res).catch((error) => {
  if (error instanceof Oauth2ResourceUnauthorizedError) return send(res, 401, { error: 'invalid_token', error_description: error.message })
  const status = error instanceof Oauth2ServerErrorResponseError ? (error.status ?? 400) : (error.statusCode ?? 500)
  const body = error instanceof Oauth2ServerErrorResponseError ? error.errorResponse
    : { error: status === 500 ? 'server_error' : 'invalid_request', error_description: String(error?.message ?? error) }
  if (status === 500) console.error(error)
  send(res, status, body)
}))
await new Promise((resolve) => server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', resolve))
const base = `http://127.0.0.1:${server.address().port}`
const issuerId = `${base}/issuer`
const asId = `${base}/as`

// ---- issuer (OpenID4VCI 1.0, pre-authorized code) -----------------------------------------
const authorizationServer = new Oauth2AuthorizationServer({ callbacks })
const resourceServer = new Oauth2ResourceServer({ callbacks })
const issuer = new Openid4vciIssuer({ callbacks })
const asMetadata = authorizationServer.createAuthorizationServerMetadata({
  issuer: asId, token_endpoint: `${asId}/token`, jwks_uri: `${asId}/jwks`,
  'pre-authorized_grant_anonymous_access_supported': true,
  dpop_signing_alg_values_supported: ['ES256'], // DPoP required, as on the HAIP profile
})
const credentialIssuerMetadata = issuer.createCredentialIssuerMetadata({
  credential_issuer: issuerId,
  authorization_servers: [asId],
  credential_endpoint: `${issuerId}/credential`,
  nonce_endpoint: `${issuerId}/nonce`,
  batch_credential_issuance: { batch_size: 5 },
  credential_configurations_supported: {
    SkillCertificate: {
      format: 'dc+sd-jwt', vct: VCT, cryptographic_binding_methods_supported: ['jwk'],
      credential_signing_alg_values_supported: ['ES256'],
      proof_types_supported: { jwt: { proof_signing_alg_values_supported: ['ES256'] } },
      credential_metadata: { display: [{ name: 'Skill certificate', locale: 'en' }] },
    },
  },
})
const issuerMetadata = {
  credentialIssuer: credentialIssuerMetadata, authorizationServers: [asMetadata],
  originalDraftVersion: Openid4vciVersion.V1,
  knownCredentialConfigurations: issuer.getKnownCredentialConfigurationsSupported(credentialIssuerMetadata),
}
const sdjwt = new SDJwtVcInstance({
  hasher: digest, hashAlg: 'sha-256', saltGenerator: generateSalt, signAlg: 'ES256',
  signer: async (data) => b64u(crypto.sign('sha256', Buffer.from(data), {
    key: crypto.createPrivateKey({ key: issuerKey.priv, format: 'jwk' }), dsaEncoding: 'ieee-p1363' })),
  verifier: async (data, sig) => crypto.verify('sha256', Buffer.from(data), {
    key: crypto.createPublicKey({ key: issuerKey.pub, format: 'jwk' }), dsaEncoding: 'ieee-p1363' }, Buffer.from(sig, 'base64url')),
  kbVerifier: async (data, sig, payload) => crypto.verify('sha256', Buffer.from(data), {
    key: crypto.createPublicKey({ key: payload.cnf.jwk, format: 'jwk' }), dsaEncoding: 'ieee-p1363' }, Buffer.from(sig, 'base64url')),
})

const offers = new Map() // offer id -> offer object
const grants = new Map() // pre-authorized code -> { txCode, claims, used }
const tokens = new Map() // token subject (the code) -> claims
const cNonces = new Set()
const issued = [] // what the issuer signed, for the test to compare

async function adminOffer(body) {
  const code = random(), pin = String(crypto.randomInt(100000, 1000000))
  grants.set(code, { txCode: body.tx_code === false ? undefined : pin, claims: body.claims, used: false })
  const grant = { 'pre-authorized_code': code }
  if (body.tx_code !== false) grant.tx_code = { input_mode: 'numeric', length: 6, description: 'the PIN you were told' }
  const id = random()
  const { credentialOffer, credentialOfferObject } = await issuer.createCredentialOffer({
    credentialConfigurationIds: ['SkillCertificate'], grants: { [preAuthorizedCodeGrantIdentifier]: grant },
    issuerMetadata, credentialOfferUri: body.by_value ? undefined : `${issuerId}/offers/${id}`,
  })
  offers.set(id, credentialOfferObject)
  return { link: credentialOffer, pin: body.tx_code === false ? null : pin }
}

async function token(req, form) {
  const parsed = authorizationServer.parseAccessTokenRequest({ accessTokenRequest: form, request: req })
  const grant = grants.get(parsed.grant.preAuthorizedCode)
  if (!grant || grant.used) throw new Oauth2ServerErrorResponseError({ error: 'invalid_grant' })
  const verified = await authorizationServer.verifyPreAuthorizedCodeAccessTokenRequest({
    grant: parsed.grant, accessTokenRequest: parsed.accessTokenRequest, request: req,
    expectedPreAuthorizedCode: parsed.grant.preAuthorizedCode, expectedTxCode: grant.txCode,
    authorizationServerMetadata: asMetadata,
    dpop: { jwt: parsed.dpop?.jwt, required: true, allowedSigningAlgs: ['ES256'] },
  })
  grant.used = true
  tokens.set(parsed.grant.preAuthorizedCode, grant.claims)
  return authorizationServer.createAccessTokenResponse({
    audience: issuerId, authorizationServer: asId, expiresInSeconds: 300, subject: parsed.grant.preAuthorizedCode,
    signer: { method: 'jwk', alg: 'ES256', publicJwk: asKey.pub }, dpop: { jwk: verified.dpop.jwk },
  })
}

async function credential(req, body) {
  const { tokenPayload } = await resourceServer.verifyResourceRequest({
    request: req, resourceServer: issuerId, authorizationServers: [asMetadata],
  })
  const claims = tokens.get(tokenPayload.sub)
  if (!claims) throw new Oauth2ServerErrorResponseError({ error: 'invalid_token' }, { status: 401 })
  tokens.delete(tokenPayload.sub)
  const parsed = issuer.parseCredentialRequest({ issuerMetadata, credentialRequest: body })
  const jwts = parsed.proofs?.jwt ?? []
  if (jwts.length === 0 || jwts.length > 5) throw new Oauth2ServerErrorResponseError({ error: 'invalid_proof' })
  const credentials = []
  for (const jwt of jwts) {
    const nonce = jose.decodeJwt(jwt).nonce
    if (!cNonces.has(nonce)) throw new Oauth2ServerErrorResponseError({ error: 'invalid_nonce' })
    const { signer } = await issuer.verifyCredentialRequestJwtProof({ issuerMetadata, expectedNonce: nonce, jwt })
    const payload = { iss: issuerId, vct: VCT, iat: Math.floor(Date.now() / 1000), cnf: { jwk: signer.publicJwk }, ...claims }
    const vc = await sdjwt.issue(payload, { _sd: Object.keys(claims) }, { header: { kid: issuerKey.pub.kid } })
    issued.push(vc)
    credentials.push({ credential: vc })
  }
  for (const jwt of jwts) cNonces.delete(jose.decodeJwt(jwt).nonce)
  return issuer.createCredentialResponse({ credentialRequest: parsed, credentials })
}

// ---- verifier (OpenID4VP 1.0, DCQL, request by reference) ---------------------------------
const verifier = new Openid4vpVerifier({ callbacks })
const requests = new Map() // id -> { payload, jwt, result }

async function adminRequest(body) {
  const id = random()
  // x509_san_dns: the wallet wants the response URI on the certificate's DNS name (localhost here)
  const here = body.client === 'x509_san_dns' ? base.replace('127.0.0.1', 'localhost') : base
  const responseUri = `${here}/verifier/response/${id}`
  const mode = body.mode ?? 'direct_post'
  const payload = {
    response_type: 'vp_token', response_mode: mode, response_uri: responseUri, nonce: random(), state: random(),
    dcql_query: { credentials: [{ id: 'skill', format: 'dc+sd-jwt', meta: { vct_values: [VCT] },
      claims: (body.claims ?? ['skill', 'eqf_level']).map((c) => ({ path: [c] })) }] },
    client_metadata: { vp_formats_supported: { 'dc+sd-jwt': { 'sd-jwt_alg_values': ['ES256'], 'kb-jwt_alg_values': ['ES256'] } } },
  }
  if (mode === 'direct_post.jwt') {
    const { priv, pub } = await es256Key(`enc-${id}`)
    const encPriv = { ...priv, use: 'enc', alg: body.key_alg ?? 'ECDH-ES' }
    delete encPriv.key_ops
    encryptionKeys.set(encPriv.kid, { priv: encPriv, enc: body.enc ?? 'A128GCM' })
    payload.client_metadata.jwks = { keys: [{ ...pub, use: 'enc', alg: body.key_alg ?? 'ECDH-ES' }] }
    if (body.enc) payload.client_metadata.encrypted_response_enc_values_supported = [body.enc]
  }
  let jar, signer
  if (body.client === 'redirect_uri') {
    payload.client_id = `redirect_uri:${responseUri}`
  } else if (body.client === 'x509_san_dns') {
    payload.client_id = 'x509_san_dns:localhost'
    signer = { method: 'x5c', alg: 'ES256', x5c: [x509.cert] }
  } else if (body.client === 'x509_hash') {
    const der = Buffer.from(x509.cert, 'base64')
    payload.client_id = `x509_hash:${b64u(crypto.createHash('sha256').update(der).digest())}`
    signer = { method: 'x5c', alg: 'ES256', x5c: [x509.cert] }
  } else {
    payload.client_id = `decentralized_identifier:${didJwk}`
    signer = { method: 'did', alg: 'ES256', didUrl: `${didJwk}#0` }
  }
  if (signer) jar = { requestUri: `${here}/verifier/request/${id}`, jwtSigner: signer, expiresInSeconds: 300 }
  const created = await verifier.createOpenId4vpAuthorizationRequest({ authorizationRequestPayload: payload, jar })
  requests.set(id, { payload: created.authorizationRequestPayload, jwt: created.jar?.authorizationRequestJwt, result: null })
  return { id, link: created.authorizationRequest, client_id: payload.client_id, nonce: payload.nonce,
    x509_jwk: x509?.pub ?? null, base: here }
}

async function response(id, form) {
  const entry = requests.get(id)
  if (!entry || entry.result) throw Object.assign(new Error('unknown or answered request'), { statusCode: 400 })
  let declined = form.error ? form : null // the holder declined (OpenID4VP 1.0 section 8.5)
  if (form.response) { // an encrypted decline is decrypted here: the library only parses answers
    const opened = await decryptJwe(form.response)
    if (opened.decrypted && JSON.parse(opened.payload).error) declined = JSON.parse(opened.payload)
  }
  if (declined) {
    entry.result = { error: declined.error, state: declined.state, encrypted: Boolean(form.response) }
    return {}
  }
  const parsed = await verifier.parseOpenid4vpAuthorizationResponse({
    authorizationResponse: form, authorizationRequestPayload: entry.payload, callbacks,
  })
  const result = { mode: parsed.jarm?.type ?? 'plain', state: parsed.authorizationResponsePayload.state, presentations: {},
    jwe: form.response ? jose.decodeProtectedHeader(form.response) : null }
  for (const [queryId, presentations] of Object.entries(parsed.dcql.presentations)) {
    result.presentations[queryId] = []
    for (const presentation of presentations) {
      const verified = await sdjwt.verify(presentation, { keyBindingNonce: parsed.expectedNonce })
      const kb = verified.kb?.payload
      if (kb.aud !== entry.payload.client_id) throw new Error(`KB-JWT aud ${kb.aud} is not the client_id`)
      result.presentations[queryId].push({ vct: verified.payload.vct, iss: verified.payload.iss, claims: verified.payload,
        kb_aud: kb.aud, kb_nonce: kb.nonce, typ: verified.header.typ })
    }
  }
  entry.result = result
  return {}
}

// ---- HTTP ---------------------------------------------------------------------------------
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
  const body = type.startsWith('application/json') ? JSON.parse(text || '{}')
    : Object.fromEntries(new URLSearchParams(text))
  const request = { method: req.method, url: url.toString(), headers: new Headers(req.headers) }
  const path = url.pathname, get = req.method === 'GET', post = req.method === 'POST'
  let m
  if (post && path === '/admin/offer') return send(res, 200, await adminOffer(body))
  if (post && path === '/admin/request') return send(res, 200, await adminRequest(body))
  if (get && (m = path.match(/^\/admin\/result\/([\w-]+)$/))) return send(res, 200, { result: requests.get(m[1])?.result ?? null })
  if (get && path === '/admin/issued') return send(res, 200, { issued })
  if (get && (m = path.match(/^\/issuer\/offers\/([\w-]+)$/)) && offers.has(m[1])) return send(res, 200, offers.get(m[1]))
  if (get && path === '/.well-known/openid-credential-issuer/issuer') return send(res, 200, credentialIssuerMetadata)
  if (get && path === '/.well-known/oauth-authorization-server/as') return send(res, 200, asMetadata)
  if (get && path === '/.well-known/jwt-vc-issuer/issuer') return send(res, 200, { issuer: issuerId, jwks: { keys: [issuerKey.pub] } })
  if (get && path === '/as/jwks') return send(res, 200, { keys: [asKey.pub] })
  if (post && path === '/as/token') return send(res, 200, await token(request, body))
  if (post && path === '/issuer/nonce') {
    const cNonce = random()
    cNonces.add(cNonce)
    return send(res, 200, issuer.createNonceResponse({ cNonce, cNonceExpiresIn: 300 }))
  }
  if (post && path === '/issuer/credential') return send(res, 200, await credential(request, body))
  if (get && (m = path.match(/^\/verifier\/request\/([\w-]+)$/)) && requests.get(m[1])?.jwt) {
    return send(res, 200, requests.get(m[1]).jwt, 'application/oauth-authz-req+jwt')
  }
  if (post && (m = path.match(/^\/verifier\/response\/([\w-]+)$/))) return send(res, 200, await response(m[1], body))
  return send(res, 404, { error: 'not_found' })
}

process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`)
