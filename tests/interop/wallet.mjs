// A wallet built on the OpenWallet Foundation's oid4vc-ts client (@openid4vc/openid4vci's
// Openid4vciClient), for tests/test_issuer_interop_dpop.py: it receives one credential from OUR
// issuer with a DPoP-bound access token, the way a HAIP wallet does. Test-only, plain http on
// 127.0.0.1 (setGlobalConfig allowInsecureUrls, as server.mjs).
//
// The protocol work is the library's: offer resolution, metadata discovery, the token request with
// its DPoP proof (and the nonce retry), the nonce request, the key proof, the credential request
// with its DPoP proof. This file wires the key callbacks (jose) and prints one JSON line.
//
// Usage: node wallet.mjs <offer link> <pin>
import crypto from 'node:crypto'
import * as jose from 'jose'
import { HashAlgorithm, calculateJwkThumbprint, clientAuthenticationNone } from '@openid4vc/oauth2'
import { Openid4vciClient } from '@openid4vc/openid4vci'
import { setGlobalConfig } from '@openid4vc/utils'

setGlobalConfig({ allowInsecureUrls: true })

const [link, pin] = process.argv.slice(2)
const hash = (data, alg) => crypto.createHash(alg.replace('-', '').toLowerCase()).update(data).digest()
const thumbprint = (jwk) => calculateJwkThumbprint({ jwk, hashAlgorithm: HashAlgorithm.Sha256, hashCallback: hash })
const keys = [] // { priv, pub }: the DPoP key and the holder key

async function newKey() {
  const { privateKey } = await jose.generateKeyPair('ES256', { extractable: true })
  const priv = await jose.exportJWK(privateKey)
  const { d, ...pub } = priv
  keys.push({ priv, pub })
  return pub
}

async function signJwt(signer, { header, payload }) {
  const want = await thumbprint(signer.publicJwk)
  let priv
  for (const k of keys) if ((await thumbprint(k.pub)) === want) priv = k.priv
  if (!priv) throw new Error('no private key for this signer')
  const jwt = await new jose.SignJWT(payload).setProtectedHeader(header).sign(await jose.importJWK(priv, signer.alg))
  return { jwt, signerJwk: signer.publicJwk }
}

const sent = [] // what went over the wire: method, path, and the auth scheme and whether a DPoP proof went along
async function recordingFetch(url, init) {
  const headers = new Headers(init?.headers)
  sent.push({ method: init?.method ?? 'GET', path: new URL(url).pathname,
              scheme: (headers.get('authorization') ?? '').split(' ')[0], dpop: headers.has('dpop') })
  return fetch(url, init)
}

const client = new Openid4vciClient({
  callbacks: { hash, generateRandom: (n) => crypto.randomBytes(n), signJwt, fetch: recordingFetch,
               clientAuthentication: clientAuthenticationNone({ clientId: 'interop-wallet' }) },
})
const offer = await client.resolveCredentialOffer(link)
const issuerMetadata = await client.resolveIssuerMetadata(offer.credential_issuer)
const dpopKey = await newKey()
const signer = { method: 'jwk', alg: 'ES256', publicJwk: dpopKey }
const token = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
  credentialOffer: offer, issuerMetadata, txCode: pin, dpop: { signer },
})
const configurationId = offer.credential_configuration_ids[0]
const { c_nonce } = await client.requestNonce({ issuerMetadata })
const holder = await newKey()
const proof = await client.createCredentialRequestJwtProof({
  issuerMetadata, credentialConfigurationId: configurationId, nonce: c_nonce,
  signer: { method: 'jwk', alg: 'ES256', publicJwk: holder },
})
const issued = await client.retrieveCredentials({
  issuerMetadata, accessToken: token.accessTokenResponse.access_token, credentialConfigurationId: configurationId,
  proofs: { jwt: [proof.jwt] }, dpop: token.dpop ?? { signer },
})
const credentials = issued.credentialResponse?.credentials?.map((c) => c.credential) ?? []
console.log(JSON.stringify({
  token_type: token.accessTokenResponse.token_type, dpop_jkt: await thumbprint(dpopKey), holder, credentials, sent,
}))
