import type { Session } from '../../src/domain/session';
import { planSessionQuery, sessionMatches, type SessionFilter } from '../../src/domain/session-filter';

const NOW = 1_800_000_000;

const base: Session = {
  sid: 's1',
  sub: 'github:repo:acme/app:ref:refs/heads/main',
  kind: 'ci',
  trust: 'github',
  scopes: ['deploy'],
  clientId: 'deploy-bot',
  sidCreatedAt: NOW - 600,
  sidExpiry: NOW + 3_000,
  idleExpiry: NOW + 1_200,
  refreshCount: 2,
  refreshHash: 'h',
  usedHashes: [],
  status: 'active',
  context: { gh: { repository: 'acme/app', ref: 'refs/heads/main', environment: 'prod' } },
  ttl: NOW + 90_000,
};

const filter = (fields: Partial<SessionFilter>): SessionFilter => ({ gh: {}, ...fields });

describe('planSessionQuery', () => {
  it.each<[string, Partial<SessionFilter>, ReturnType<typeof planSessionQuery>]>([
    ['an exact subject', { sub: 'clerk:user_1', trust: 'clerk' }, { kind: 'index', index: 'bySubject', value: 'clerk:user_1' }],
    ['an upstream session', { upstreamSid: 'sess_1' }, { kind: 'index', index: 'byUpstreamSid', value: 'sess_1' }],
    ['an exact repository, with the created range', { gh: { repository: 'acme/app' }, trust: 'github', createdAfter: 10 }, { kind: 'index', index: 'byRepository', value: 'acme/app', createdAfter: 10, createdBefore: undefined }],
    ['a trust entry', { trust: 'github', kind: 'ci' }, { kind: 'index', index: 'byTrust', value: 'github', createdAfter: undefined, createdBefore: undefined }],
    ['a subject glob with a literal trust', { sub: 'github:repo:acme/*:**' }, { kind: 'index', index: 'byTrust', value: 'github', createdAfter: undefined, createdBefore: undefined }],
    ['a subject glob without one', { sub: '*:user_1' }, { kind: 'scan', why: 'a subject glob without a literal "<trust>:" prefix' }],
    ['a repository glob', { gh: { repository: 'acme/*' } }, { kind: 'scan', why: 'a repository glob (give --trust too, or the exact repository)' }],
    ['kind alone', { kind: 'user' }, { kind: 'scan', why: 'no filter on an indexed field (exact --sub, --repository, --trust or --upstream-sid)' }],
    ['nothing', {}, { kind: 'scan', why: 'no filter' }],
    ['the state alone', { state: 'active' }, { kind: 'scan', why: 'no filter' }],
  ])('plans %s', (_name, fields, plan) => {
    expect(planSessionQuery(filter(fields))).toEqual(plan);
  });
});

describe('sessionMatches', () => {
  it.each<[string, Partial<SessionFilter>, boolean]>([
    ['exact subject', { sub: base.sub }, true],
    ['subject glob: * stops at /', { sub: 'github:repo:*:ref:refs/heads/main' }, false],
    ['subject glob: ** crosses /', { sub: 'github:repo:**:ref:refs/heads/main' }, true],
    ['another trust', { trust: 'clerk' }, false],
    ['kind', { kind: 'ci' }, true],
    ['client glob', { clientId: 'deploy-*' }, true],
    ['gh field', { gh: { environment: 'prod' } }, true],
    ['gh field absent from the session', { gh: { actor: 'octocat' } }, false],
    ['created after, inclusive', { createdAfter: NOW - 600 }, true],
    ['created before, exclusive', { createdBefore: NOW - 600 }, false],
    ['active', { state: 'active' }, true],
    ['ended', { state: 'ended' }, false],
  ])('%s', (_name, fields, expected) => {
    expect(sessionMatches(base, filter(fields), NOW)).toBe(expected);
  });

  it('counts a session past its idle deadline as ended though its record still says active', () => {
    const idle = { ...base, idleExpiry: NOW - 1 };

    expect(sessionMatches(idle, filter({ state: 'ended' }), NOW)).toBe(true);
    expect(sessionMatches(idle, filter({ state: 'active' }), NOW)).toBe(false);
  });

  it('treats claim values as data: a prototype name is an ordinary field value', () => {
    const odd = { ...base, context: { gh: { repository: '__proto__' } } };

    expect(sessionMatches(odd, filter({ gh: { repository: '__proto__' } }), NOW)).toBe(true);
    expect(sessionMatches(base, filter({ gh: { repository: 'constructor' } }), NOW)).toBe(false);
  });
});
