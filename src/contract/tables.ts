/**
 * The DynamoDB tables' names that code and infrastructure share. Tables have
 * no physical names (CloudFormation names them; functions get them through
 * `EnvNames.sessionsTable` / `EnvNames.guardsTable`); what must agree between
 * the stack (`cdk/session-tables.ts`), the local store (`src/local/tables.ts`)
 * and the adapters is below.
 */

/**
 * The sessions table's global secondary indexes. `bySubject` and
 * `byUpstreamSid` serve revocation and webhooks; `byTrust` and `byRepository`
 * the admin CLI's session queries.
 */
export const SESSION_INDEXES = { bySubject: 'bySubject', byUpstreamSid: 'byUpstreamSid', byTrust: 'byTrust', byRepository: 'byRepository' } as const;

export type SessionIndexName = (typeof SESSION_INDEXES)[keyof typeof SESSION_INDEXES];
