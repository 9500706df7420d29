/**
 * The refresh function's deadlines, shared by the stack (which sets the
 * function timeouts) and the token function's Lambda client (which waits for
 * the refresh function a little longer, so the refresh function's own answer
 * wins).
 */

/** The refresh function's timeout, in seconds. */
export const REFRESH_FUNCTION_TIMEOUT_SECONDS = 10;

/** How long the token function waits for the refresh function. */
export const REFRESH_INVOKE_TIMEOUT_MS = (REFRESH_FUNCTION_TIMEOUT_SECONDS + 2) * 1000;
