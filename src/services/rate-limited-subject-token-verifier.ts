import type { TollgateConfig } from '../config/config';
import type { Clock } from '../domain/clock';
import { RateLimitedError } from '../domain/errors';
import type { IssuerKeys } from '../ports/issuer-keys';
import type { RateLimiter } from '../ports/rate-limiter';
import type { Telemetry } from '../ports/telemetry';
import { SubjectTokenVerifier, type VerifiedSubject } from './subject-token-verifier';

export interface SubjectRateLimit {
  limiter: RateLimiter;
  /** `rateLimit.tokenRequestsPerMinutePerSubject` */
  perMinute: number;
  telemetry: Telemetry;
}

/**
 * The subject-token verifier with the `/token` per-subject rate limit: a
 * subject (`<trust name>:<sub>`) is counted only once its token has been
 * *verified*, so nobody can spend another subject's budget with forged
 * tokens naming it. Runs before the single-use marker and the session are
 * written, so a refused exchange leaves nothing behind.
 */
export class RateLimitedSubjectTokenVerifier extends SubjectTokenVerifier {
  constructor(
    config: TollgateConfig,
    issuerKeys: IssuerKeys,
    clock: Clock,
    ownIssuer: string,
    private readonly limit: SubjectRateLimit,
  ) {
    super(config, issuerKeys, clock, ownIssuer);
  }

  override async verify(token: string): Promise<VerifiedSubject> {
    const verified = await super.verify(token);
    const subject = `${verified.trust.name}:${String(verified.claims.sub)}`;
    const decision = await this.limit.limiter.hit(`token-subject:${subject}`, this.limit.perMinute, 60);
    if (!decision.allowed) {
      this.limit.telemetry.emit({ type: 'RateLimited', limit: 'token_subject' });
      throw new RateLimitedError(decision.retryAfterSeconds);
    }
    return verified;
  }
}
