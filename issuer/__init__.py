"""The issuer service: NGO and authority staff make credential offers (a QR code and a PIN), wallets
redeem them by OpenID4VCI (token, nonce, credential, DPoP), and credentials are revoked through
Token Status Lists. See the README's "Your first credential, step by step"."""
