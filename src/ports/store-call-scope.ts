import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What one request has learnt of the store so far: when the first of its
 * store calls that got no answer (a timeout, a refused or reset connection,
 * a 5xx) started. The store adapters read it to keep the request's later
 * calls within what is left of one call's bound from then, so a request that
 * meets a failing store answers 503 within one documented bound
 * (docs/security.md, "What each failure answers") whatever number of calls
 * its path makes (a write, the look after its lost answer, the undo).
 */
export interface StoreCallScope {
  /** `performance.now()` at the start of the request's first store call that failed without an answer. */
  failedCallStartedAt?: number;
}

const scopes = new AsyncLocalStorage<StoreCallScope>();

/** Runs one request's work in a fresh store-call scope (the HTTP chain does this for every request). */
export function withStoreCallScope<T>(work: () => T): T {
  return scopes.run({}, work);
}

/** The scope of the request running now; undefined outside one (operator commands, the bench). */
export function currentStoreCallScope(): StoreCallScope | undefined {
  return scopes.getStore();
}
