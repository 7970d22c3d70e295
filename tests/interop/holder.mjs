// An independent OpenID4VP 1.0 *wallet* answering one request of the node's verifier, built on the
// OpenWallet Foundation's oid4vc-ts client (@openid4vc/openid4vp) and @sd-jwt/sd-jwt-vc, for
// tests/test_verifier_interop_wallet.py (issue 18: direct_post.jwt at the verifier). Test-only.
//
// The protocol work is the libraries': parsing the openid4vp:// link, fetching and verifying the
// signed Request Object (JAR, x509_hash checked against the x5c leaf), the SD-JWT presentation with
// its KB-JWT (aud = client_id, the request's nonce, sd_hash), choosing the encryption key and enc
// from client_metadata, and the direct_post.jwt POST. This file gives them crypto callbacks (`jose`).
//
// stdin: {"link", "credential", "holder_jwk", "disclose": [claim names], "encs": ["A256GCM", ...]}
// stdout: {"status", "body", "jwe_header", "client_id", "response_mode"}
import crypto from 'node:crypto'
import * as jose from 'jose'
import { Openid4vpClient } from '@openid4vc/openid4vp'
import { setGlobalConfig } from '@openid4vc/utils'
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc'
import { digest, generateSalt } from '@sd-jwt/crypto-nodejs'

setGlobalConfig({ allowInsecureUrls: true }) // the node under test listens on loopback http

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'))

const hash = (data, alg) => crypto.createHash(alg.replace('-', '').toLowerCase()).update(data).digest()

async function verifyJwt(signer, { compact }) {
  try {
    let key
    if (signer.method === 'x5c') {
      const pem = `-----BEGIN CERTIFICATE-----\n${signer.x5c[0]}\n-----END CERTIFICATE-----`
      key = await jose.importX509(pem, signer.alg)
    } else if (signer.method === 'did') {
      key = await jose.importJWK(JSON.parse(Buffer.from(signer.didUrl.split('#')[0].slice(8), 'base64url')), signer.alg)
    } else {
      key = await jose.importJWK(signer.publicJwk, signer.alg)
    }
    await jose.compactVerify(compact, key)
    return { verified: true, signerJwk: await jose.exportJWK(key) }
  } catch {
    return { verified: false }
  }
}

async function encryptJwe(encryptor, data) {
  const header = { alg: encryptor.alg, enc: encryptor.enc }
  if (encryptor.publicJwk.kid) header.kid = encryptor.publicJwk.kid
  const jwe = new jose.CompactEncrypt(new TextEncoder().encode(data)).setProtectedHeader(header)
  const parameters = {}
  if (encryptor.apu) parameters.apu = Buffer.from(encryptor.apu, 'base64url')
  if (encryptor.apv) parameters.apv = Buffer.from(encryptor.apv, 'base64url')
  jwe.setKeyManagementParameters(parameters)
  return { jwe: await jwe.encrypt(await jose.importJWK(encryptor.publicJwk, encryptor.alg)), encryptionJwk: encryptor.publicJwk }
}

const callbacks = {
  hash, fetch, verifyJwt, encryptJwe, generateRandom: (n) => crypto.randomBytes(n),
  getX509CertificateMetadata: () => ({ sanDnsNames: [], sanUriNames: [] }), // x509_hash needs neither
}
const client = new Openid4vpClient({ callbacks })

const parsed = client.parseOpenid4vpAuthorizationRequest({ authorizationRequest: input.link })
const resolved = await client.resolveOpenId4vpAuthorizationRequest({ authorizationRequestPayload: parsed.params })
const request = resolved.authorizationRequestPayload

const holderKey = crypto.createPrivateKey({ key: input.holder_jwk, format: 'jwk' })
const sdjwt = new SDJwtVcInstance({
  hasher: digest, hashAlg: 'sha-256', saltGenerator: generateSalt, kbSignAlg: 'ES256',
  kbSigner: async (data) => Buffer.from(crypto.sign('sha256', Buffer.from(data), { key: holderKey, dsaEncoding: 'ieee-p1363' })).toString('base64url'),
})
const frame = Object.fromEntries(input.disclose.map((name) => [name, true]))
const queryId = request.dcql_query.credentials[0].id
const presentation = await sdjwt.present(input.credential, frame, {
  kb: { payload: { aud: request.client_id, nonce: request.nonce, iat: Math.floor(Date.now() / 1000) } },
})

const encrypted = request.response_mode === 'direct_post.jwt'
const created = await client.createOpenid4vpAuthorizationResponse({
  authorizationRequestPayload: request,
  authorizationResponsePayload: { vp_token: { [queryId]: [presentation] } },
  jarm: encrypted ? {
    encryption: { nonce: crypto.randomBytes(16).toString('base64url') },
    serverMetadata: {
      authorization_encryption_alg_values_supported: ['ECDH-ES'],
      authorization_encryption_enc_values_supported: input.encs ?? ['A256GCM', 'A128GCM'],
    },
  } : undefined,
})
const submitted = await client.submitOpenid4vpAuthorizationResponse({
  authorizationRequestPayload: request,
  authorizationResponsePayload: created.authorizationResponsePayload,
  jarm: created.jarm ? { responseJwt: created.jarm.responseJwt } : undefined,
})
process.stdout.write(JSON.stringify({
  status: submitted.response.status, body: await submitted.response.text(), client_id: request.client_id,
  response_mode: request.response_mode, jwe_header: created.jarm ? jose.decodeProtectedHeader(created.jarm.responseJwt) : null,
}) + '\n')
