// A second independent wallet, built on Sphereon's OID4VC libraries (@sphereon/oid4vci-client for
// issuance, @sphereon/did-auth-siop for presentation) with @sd-jwt/sd-jwt-vc for the credential
// format, to drive OUR issuer and verifier from tests/test_interop2_node.py. Test-only.
//
// One command per run: a JSON object on stdin, a JSON object on stdout (errors: {"error": …} and
// exit code 1). Stateless: the holder's private key travels in and out as a JWK.
//   {"cmd": "receive", "link", "pin", "configuration", "copies"}  -> credentials, their verified payloads
//   {"cmd": "present", "link", "credential", "holder_jwk"}        -> what the verifier answered
//
// The protocol work (offer, discovery, token, nonce, proof, credential request; request object
// verification, DCQL, the response) is the libraries'; this file only supplies keys and callbacks.
import crypto from 'node:crypto'
import * as jose from 'jose'
import { CredentialRequestClientBuilderV1_0_15, OpenID4VCIClientV1_0_15, ProofOfPossessionBuilder } from '@sphereon/oid4vci-client'
import { OP, ResponseIss, SupportedVersion } from '@sphereon/did-auth-siop'
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc'
import { digest, generateSalt } from '@sd-jwt/crypto-nodejs'

const b64u = (bytes) => Buffer.from(bytes).toString('base64url')
const digestSync = (data, alg = 'sha256') => crypto.createHash(alg.replace('-', '').toLowerCase()).update(data).digest()

/** The issuer's keys from its JWT VC Issuer Metadata (SD-JWT VC section 4), at the inserted path. */
async function issuerKeys(iss) {
  const u = new URL(iss)
  const response = await fetch(`${u.origin}/.well-known/jwt-vc-issuer${u.pathname.replace(/\/$/, '')}`)
  if (!response.ok) throw new Error(`jwt-vc-issuer metadata: ${response.status}`)
  const metadata = await response.json()
  if (metadata.issuer !== iss) throw new Error(`jwt-vc-issuer metadata names ${metadata.issuer}, not ${iss}`)
  return metadata.jwks.keys
}

const rawVerify = (alg, jwk, data, sig) => {
  const key = crypto.createPublicKey({ key: jwk, format: 'jwk' })
  const signature = Buffer.from(sig, 'base64url')
  if (alg === 'EdDSA') return crypto.verify(null, Buffer.from(data), key, signature)
  return crypto.verify('sha256', Buffer.from(data), { key, dsaEncoding: 'ieee-p1363' }, signature)
}

/** SD-JWT VC verification by @sd-jwt/sd-jwt-vc: issuer signature (key by `kid` from the issuer's
 * metadata), disclosures against their digests, and the KB-JWT when there is one. */
async function verifyCredential(sdJwt, keyBinding = {}) {
  const [jwt] = sdJwt.split('~')
  const header = jose.decodeProtectedHeader(jwt)
  const payload = jose.decodeJwt(jwt)
  const keys = await issuerKeys(payload.iss)
  const jwk = keys.find((k) => k.kid === header.kid)
  if (!jwk) throw new Error(`no issuer key ${header.kid}`)
  const sd = new SDJwtVcInstance({
    hasher: digest, hashAlg: 'sha-256',
    verifier: async (data, sig) => rawVerify(header.alg, jwk, data, sig),
    kbVerifier: async (data, sig, p) => rawVerify('ES256', p.cnf.jwk, data, sig),
  })
  return sd.verify(sdJwt, keyBinding)
}

/** One holder key, and the library's proof builder signing with it (typ openid4vci-proof+jwt, aud, nonce). */
async function holderKey() {
  const { privateKey, publicKey } = await jose.generateKeyPair('ES256', { extractable: true })
  const jwk = await jose.exportJWK(publicKey)
  const signCallback = async (args) => {
    const { kid, ...header } = args.header
    return new jose.SignJWT(args.payload).setProtectedHeader({ ...header, alg: 'ES256', jwk }).sign(privateKey)
  }
  return { jwk, privateJwk: await jose.exportJWK(privateKey), signCallback }
}

/** DPoP (RFC 9449) as the library does it: one key for the token and credential requests; the library
 * builds each proof (htm, htu, iat, jti, ath, a server nonce it retries with) and this signs it. */
async function dpopOptions() {
  const { privateKey, publicKey } = await jose.generateKeyPair('ES256', { extractable: true })
  const jwk = await jose.exportJWK(publicKey)
  return {
    jwtIssuer: { alg: 'ES256', jwk }, dPoPSigningAlgValuesSupported: ['ES256'], jwtPayloadProps: {},
    createJwtCallback: async (_issuer, jwt) => new jose.SignJWT(jwt.payload)
      .setProtectedHeader({ ...jwt.header, alg: 'ES256', jwk }).sign(privateKey),
  }
}

/** Pre-authorized code with tx_code, then one Credential Request for `copies` keys. `shape` "shipped" sends
 * what the library builds (draft 15: a single `proof`, so one copy); "proofs" moves the library's proofs
 * into the 1.0 `proofs.jwt` array (OpenID4VCI 1.0 section 8.2), the only change made to its request. */
async function receive({ link, pin, configuration, copies = 1, shape = 'proofs', dpop = false }) {
  const client = await OpenID4VCIClientV1_0_15.fromURI({ uri: link, retrieveServerMetadata: true, clientId: 'sphereon-wallet' })
  const createDPoPOpts = dpop ? await dpopOptions() : undefined
  const token = await client.acquireAccessToken({ pin, createDPoPOpts })
  const nonce = await client.acquireNonce()
  const requestClient = CredentialRequestClientBuilderV1_0_15.fromCredentialOffer({
    credentialOffer: client.credentialOffer, metadata: client.endpointMetadata,
  }).withCredentialConfigurationId(configuration).withTokenFromResponse(client.accessTokenResponse).build()
  const keys = [], proofs = []
  let request
  for (let i = 0; i < copies; i++) {
    const key = await holderKey()
    const proofInput = ProofOfPossessionBuilder.fromAccessTokenResponse({
      accessTokenResponse: { ...client.accessTokenResponse, c_nonce: nonce },
      callbacks: { signCallback: key.signCallback }, version: client.version(),
    }).withIssuer(client.getIssuer()).withAlg('ES256').withJWK(key.jwk).withAccessTokenNonce(nonce)
    request = await requestClient.createCredentialRequest({
      proofInput, credentialConfigurationId: configuration, format: 'dc+sd-jwt', version: client.version(),
    })
    keys.push(key)
    proofs.push(request.proof.jwt)
  }
  if (shape === 'proofs') {
    const { proof, ...rest } = request
    request = { ...rest, proofs: { jwt: proofs } }
  }
  const response = await requestClient.acquireCredentialsUsingRequest(request, 'dc+sd-jwt', createDPoPOpts)
  if (response.errorBody || !response.successBody) {
    return { refused: response.errorBody ?? null, status: response.origResponse.status, sent: Object.keys(request).sort() }
  }
  const out = []
  for (const [i, { credential }] of response.successBody.credentials.entries()) {
    const verified = await verifyCredential(credential)
    const key = keys.find((k) => k.jwk.x === verified.payload.cnf?.jwk?.x)
    if (!key) throw new Error(`credential ${i} is bound to none of the holder's keys`)
    out.push({ credential, holder_jwk: key.privateJwk, header: verified.header, payload: verified.payload })
  }
  return { credentials: out, version: client.version(), sent: Object.keys(request).sort(), token_type: token.token_type,
    discovered: { token_endpoint: client.endpointMetadata.token_endpoint, nonce_endpoint: client.endpointMetadata.credentialIssuerMetadata.nonce_endpoint } }
}

/** Signature check for the Request Object: the key the library names (x5c leaf, did:jwk, jwk). The
 * library leaves the `x509_hash` binding to its caller (as oid4vc-ts leaves the KB-JWT `aud`): the leaf
 * certificate's SHA-256 must equal the client identifier (OpenID4VP 1.0 section 5.9.3). */
async function verifyJwtCallback(verifier, jwt) {
  let key
  if (verifier.method === 'x5c') {
    const der = Buffer.from(verifier.x5c[0], 'base64')
    const clientId = jwt.payload.client_id
    if (clientId.startsWith('x509_hash:') && clientId !== `x509_hash:${b64u(crypto.createHash('sha256').update(der).digest())}`) {
      throw new Error('x509_hash does not match the leaf certificate')
    }
    key = new crypto.X509Certificate(der).publicKey
  } else if (verifier.method === 'did') {
    const did = verifier.didUrl.split('#')[0]
    if (!did.startsWith('did:jwk:')) throw new Error(`unsupported DID method in ${did}`)
    key = crypto.createPublicKey({ key: JSON.parse(Buffer.from(did.slice(8), 'base64url')), format: 'jwk' })
  } else if (verifier.method === 'jwk') {
    key = crypto.createPublicKey({ key: verifier.jwk, format: 'jwk' })
  } else {
    throw new Error(`signer method ${verifier.method} not supported here`)
  }
  await jose.compactVerify(jwt.raw, key)
  return true
}

/** direct_post.jwt (OpenID4VP 1.0 section 8.3): the library picks the mode, the `use: enc` key of the
 * request's client_metadata.jwks, and posts `response=`; this callback makes the JWE (ECDH-ES on that key,
 * `kid` in the header, the first `enc` the verifier lists that we know, A128GCM when it lists none). */
async function encryptResponse({ authorizationResponsePayload, clientMetadata }) {
  const jwk = await OP.extractEncJwksFromClientMetadata(clientMetadata)
  const listed = clientMetadata.encrypted_response_enc_values_supported ?? ['A128GCM']
  const enc = listed.find((e) => ['A128GCM', 'A256GCM'].includes(e))
  if (!enc) throw new Error(`no supported enc in ${listed}`)
  const plaintext = new TextEncoder().encode(JSON.stringify(authorizationResponsePayload))
  const response = await new jose.CompactEncrypt(plaintext).setProtectedHeader({ alg: 'ECDH-ES', enc, kid: jwk.kid })
    .encrypt(await jose.importJWK({ ...jwk, alg: 'ECDH-ES' }, 'ECDH-ES'))
  encrypted.push({ alg: 'ECDH-ES', enc, kid: jwk.kid })
  return { response }
}
const encrypted = [] // what encryptResponse did, reported to the test

/** The claims a DCQL credential query asks for: its first claim set, or all its claims (section 6.4.1). */
function asked(query) {
  const claims = query.claims ?? []
  const ids = query.claim_sets?.[0]
  const chosen = ids ? claims.filter((c) => ids.includes(c.id)) : claims
  return Object.fromEntries(chosen.map((c) => [c.path[0], true]))
}

/** Answer the request at `link` with a presentation of `credential`, disclosing what its DCQL query asks.
 * `answer_link` (tests only): make the presentation for `link` but send it to another request, a replay. */
async function present({ link, credential, holder_jwk, answer_link }) {
  const op = OP.builder().withVerifyJwtCallback(verifyJwtCallback).withHasher(digestSync)
    .withCreateJwtCallback(async () => { throw new Error('this wallet signs no id_token') })
    .withSupportedVersions([SupportedVersion.OID4VP_v1]).build()
  const request = await op.verifyAuthorizationRequest(link)
  const payload = await request.requestObject.getPayload() // the signed Request Object, verified above
  const [query] = request.dcqlQuery.credentials
  const holderKey = crypto.createPrivateKey({ key: holder_jwk, format: 'jwk' })
  const sd = new SDJwtVcInstance({
    hasher: digest, hashAlg: 'sha-256', saltGenerator: generateSalt, kbSignAlg: 'ES256',
    kbSigner: async (data) => b64u(crypto.sign('sha256', Buffer.from(data), { key: holderKey, dsaEncoding: 'ieee-p1363' })),
  })
  const vp = await sd.present(credential, asked(query), {
    kb: { payload: { aud: payload.client_id, nonce: payload.nonce, iat: Math.floor(Date.now() / 1000) } },
  })
  const target = answer_link ? await op.verifyAuthorizationRequest(answer_link) : request
  const response = await op.createAuthorizationResponse(target, {
    issuer: ResponseIss.SELF_ISSUED_V2, // a SIOPv2 leftover the library requires; no id_token is sent
    correlationId: target.correlationId, dcqlResponse: { dcqlPresentation: { [query.id]: [vp] } },
  })
  const submitted = await op.submitAuthorizationResponse(response, encryptResponse)
  return { status: submitted.status, body: await submitted.text(), client_id: payload.client_id, nonce: payload.nonce,
    disclosed: Object.keys(asked(query)), response_mode: payload.response_mode, encrypted }
}

const output = (value) => process.stdout.write(`${JSON.stringify(value)}\n`)
const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const command = JSON.parse(Buffer.concat(chunks).toString('utf8'))
try {
  if (command.cmd === 'receive') output(await receive(command))
  else if (command.cmd === 'present') output(await present(command))
  else throw new Error(`unknown command ${command.cmd}`)
} catch (error) {
  output({ error: String(error?.message ?? error), stack: String(error?.stack ?? '') })
  process.exitCode = 1
}
