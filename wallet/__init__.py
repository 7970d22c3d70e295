"""The holder's wallet: credentials kept encrypted under the holder's passphrase, received by
OpenID4VCI, shown by OpenID4VP or by offline QR with the attributes the holder picks, and a history
of who saw what."""
