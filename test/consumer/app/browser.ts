// A browser app (bundler resolution, DOM types, no Node types at all): the client and the verifier only.
import { createTollgateClient, isTollgateError } from 'tollgate/client';
import { createVerifier } from 'tollgate/verify';

const tollgate = createTollgateClient({ baseUrl: 'https://auth.example.com', getSubjectToken: async () => 'a-clerk-session-token' });
export async function orders(): Promise<unknown> {
  try {
    return await (await tollgate.fetch('/orders')).json();
  } catch (error) {
    if (isTollgateError(error, 'INSUFFICIENT_SCOPE')) return [];
    throw error;
  }
}
export const verifier = createVerifier({ issuer: 'https://auth.example.com', audience: 'tollgate' });
