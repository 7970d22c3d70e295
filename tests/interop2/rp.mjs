// The verifier half of peer.mjs: @sphereon/did-auth-siop's relying party (RP) asking OpenID4VP 1.0 with
// DCQL, a signed Request Object by reference under `decentralized_identifier:did:jwk:…`, direct_post.
// The library builds and signs the request, keeps the session (nonce, state), parses the response and
// matches the vp_token to the DCQL query; @sd-jwt/sd-jwt-vc verifies each presentation (issuer signature,
// disclosures, KB-JWT signature, nonce, sd_hash) in the presentation callback, which also checks the
// KB-JWT `aud` is the full client_id (the library leaves that to its caller).
import crypto from 'node:crypto'
import { EventEmitter } from 'node:events'
import * as jose from 'jose'
import {
  InMemoryRPSessionManager, PassBy, ResponseMode, ResponseType, RevocationVerification, RP, SupportedVersion,
} from '@sphereon/did-auth-siop'
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc'
import { digest } from '@sd-jwt/crypto-nodejs'

const VCT = 'urn:amana:credential:SkillCertificate:1'
const b64u = (bytes) => Buffer.from(bytes).toString('base64url')
const random = (n = 16) => b64u(crypto.randomBytes(n))
const digestSync = (data, alg = 'sha256') => crypto.createHash(alg.replace('-', '').toLowerCase()).update(data).digest()

const rawVerify = (jwk, data, sig) => crypto.verify('sha256', Buffer.from(data), {
  key: crypto.createPublicKey({ key: jwk, format: 'jwk' }), dsaEncoding: 'ieee-p1363' }, Buffer.from(sig, 'base64url'))

/** SD-JWT VC issuer keys, from the issuer's JWT VC Issuer Metadata (inserted path). */
async function issuerKey(iss, kid) {
  const u = new URL(iss)
  const metadata = await (await fetch(`${u.origin}/.well-known/jwt-vc-issuer${u.pathname}`)).json()
  if (metadata.issuer !== iss) throw new Error('jwt-vc-issuer metadata names another issuer')
  const key = metadata.jwks.keys.find((k) => k.kid === kid)
  if (!key) throw new Error(`no issuer key ${kid}`)
  return key
}

export async function verifier(base) {
  const { privateKey, publicKey } = await jose.generateKeyPair('ES256', { extractable: true })
  const pub = await jose.exportJWK(publicKey)
  const didJwk = `did:jwk:${b64u(JSON.stringify({ kty: pub.kty, crv: pub.crv, x: pub.x, y: pub.y }))}`
  const clientId = `decentralized_identifier:${didJwk}`
  const results = new Map() // id -> what was verified
  const queries = new Map() // id -> { rp, dcql, nonce }

  function rpFor(dcql) {
    const emitter = new EventEmitter()
    return RP.builder({ requestVersion: SupportedVersion.OID4VP_v1 })
      .withClientId(clientId).withResponseType(ResponseType.VP_TOKEN).withResponseMode(ResponseMode.DIRECT_POST)
      .withSupportedVersions([SupportedVersion.OID4VP_v1]).withHasher(digestSync).withDcqlQuery(dcql)
      .withClientMetadata({
        passBy: PassBy.VALUE, client_id: clientId,
        vp_formats_supported: { 'dc+sd-jwt': { 'sd-jwt_alg_values': ['ES256'], 'kb-jwt_alg_values': ['ES256'] } },
      })
      .withCreateJwtCallback(async (_issuer, jwt) => new jose.SignJWT(jwt.payload)
        .setProtectedHeader({ ...jwt.header, alg: 'ES256', kid: `${didJwk}#0` }).sign(privateKey))
      .withVerifyJwtCallback(async () => true) // no JWT answers are signed in this flow (vp_token only)
      .withRevocationVerification(RevocationVerification.NEVER)
      .withEventEmitter(emitter).withSessionManager(new InMemoryRPSessionManager(emitter))
      .build()
  }

  async function request(body) {
    const id = random(), nonce = random(), state = random()
    const dcql = { credentials: [{ id: 'skill', format: 'dc+sd-jwt', meta: { vct_values: [VCT] },
      claims: (body.claims ?? ['skill', 'eqf_level']).map((c) => ({ path: [c] })) }] }
    const rp = rpFor(dcql)
    const uri = await rp.createAuthorizationRequestURI({
      correlationId: id, nonce, state, jwtIssuer: { method: 'did', didUrl: `${didJwk}#0`, alg: 'ES256' },
      requestByReferenceURI: `${base}/verifier/request/${id}`, responseURI: `${base}/verifier/response/${id}`,
      responseURIType: 'response_uri',
    })
    queries.set(id, { rp, dcql, nonce })
    return { id, link: uri.encodedUri, client_id: clientId, nonce }
  }

  async function presentationVerification(vp, nonce) {
    const [jwt] = vp.split('~')
    const header = jose.decodeProtectedHeader(jwt)
    const key = await issuerKey(jose.decodeJwt(jwt).iss, header.kid)
    const sd = new SDJwtVcInstance({ hasher: digest, hashAlg: 'sha-256',
      verifier: async (data, sig) => rawVerify(key, data, sig),
      kbVerifier: async (data, sig, payload) => rawVerify(payload.cnf.jwk, data, sig) })
    return sd.verify(vp, { keyBindingNonce: nonce })
  }

  async function response(id, form) {
    const entry = queries.get(id)
    if (!entry || results.has(id)) throw Object.assign(new Error('unknown or answered request'), { statusCode: 400 })
    if (form.error) { results.set(id, { error: form.error, state: form.state }); return {} }
    const seen = []
    const verified = await entry.rp.verifyAuthorizationResponse(form, {
      correlationId: id, dcqlQuery: entry.dcql,
      verification: { presentationVerificationCallback: async (vp) => {
        const checked = await presentationVerification(vp, entry.nonce)
        const kb = checked.kb?.payload
        if (!kb || kb.aud !== clientId || kb.nonce !== entry.nonce) throw new Error('KB-JWT aud or nonce mismatch')
        seen.push({ vct: checked.payload.vct, iss: checked.payload.iss, claims: checked.payload, kb_aud: kb.aud,
          kb_nonce: kb.nonce, typ: checked.header.typ })
        return { verified: true }
      } },
    })
    results.set(id, { state: verified.state, presentations: seen, nonce: verified.nonce ?? null })
    return {}
  }

  async function handle(req, res, { path, body, get, post, send }) {
    let m
    if (get && (m = path.match(/^\/verifier\/request\/([\w-]+)$/)) && queries.has(m[1])) {
      const state = await queries.get(m[1]).rp.sessionManager.getRequestStateByCorrelationId(m[1], true)
      send(res, 200, await state.request.requestObject.toJwt(), 'application/oauth-authz-req+jwt')
      return true
    }
    if (post && (m = path.match(/^\/verifier\/response\/([\w-]+)$/))) {
      send(res, 200, await response(m[1], body))
      return true
    }
    return false
  }

  return { request, result: (id) => results.get(id) ?? null, handle }
}
