// The verifier half of peer.mjs (Sphereon's relying party); not wired yet: no routes, no requests.
export async function verifier() {
  return { request: async () => { throw new Error('no verifier yet') }, result: () => null, handle: async () => false }
}
