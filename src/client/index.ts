/**
 * The Tollgate client: `import { createTollgateClient } from 'tollgate/client'`.
 * Browser and Node (only `fetch`); see docs/client.md.
 */
export { createTollgateClient, type TollgateClient, type TollgateClientOptions } from './tollgate-client';
export {
  TollgateError,
  isTollgateError,
  PROXY_ERROR_CODES,
  TOKEN_ENDPOINT_ERROR_CODES,
  type ClientErrorCode,
  type ProxyErrorCode,
  type TokenEndpointErrorCode,
  type TollgateEndpoint,
  type TollgateErrorCode,
} from './tollgate-error';
export { memoryStorage, type StoredTokens, type TokenStorage } from './token-storage';
export { type RetryOptions } from './retry-policy';
