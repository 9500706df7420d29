/**
 * Lambda's limit on a synchronous response: the serialized result object
 * (status, headers, and the body, base64 or not) may be at most 6,291,556
 * bytes. That is what "6 MB" means in Lambda's quotas (6 MiB + 100 bytes).
 */
export const LAMBDA_RESPONSE_LIMIT_BYTES = 6_291_556;

/** Kept free below the limit, for whatever the runtime adds around our JSON. */
export const LAMBDA_RESPONSE_MARGIN_BYTES = 1024;

/**
 * Upstream body bytes read at most: no larger body can fit, even as unescaped
 * text. A binary body is returned base64 (4/3 larger), so in practice about
 * 4.7 MB of binary fits; the exact check is on the serialized result.
 */
export const MAX_UPSTREAM_BODY_BYTES = LAMBDA_RESPONSE_LIMIT_BYTES;
