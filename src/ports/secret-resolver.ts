/**
 * Resolves a secret reference (`env:NAME`, `aws-secretsmanager:<id>[#<json key>]`)
 * to its value. Implementations cache values for a bounded time and throw
 * `UnavailableError('secrets')` when a value cannot be read.
 */
export interface SecretResolver {
  resolve(ref: string): Promise<string>;
}
