import type { RejectionReason } from '../domain/errors';
import type { TimeoutReason } from '../domain/session';

/** What happened, for metrics and the audit log. Dimensions come only from bounded sets. */
export type TollgateEvent =
  | { type: 'TokenIssued'; kind: string; trust: string; sid: string; sub: string }
  | { type: 'TokenRefreshed'; kind: string; sid: string; refreshCount: number }
  | { type: 'RefreshReuseDetected'; sid: string }
  | { type: 'SessionTimedOut'; reason: TimeoutReason; sid: string }
  | { type: 'SessionRevoked'; source: 'revoke' | 'reuse' | 'webhook'; sid: string }
  | { type: 'TokenRejected'; reason: RejectionReason; endpoint: string; detail?: string };

/** Where services report events; the HTTP layer turns them into Powertools metrics and log lines. */
export interface Telemetry {
  emit(event: TollgateEvent): void;
}

export const silentTelemetry: Telemetry = { emit: () => undefined };
