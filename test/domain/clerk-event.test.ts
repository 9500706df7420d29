import { parseClerkEvent } from '../../src/domain/clerk-event';

const bytes = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

describe('parseClerkEvent', () => {
  it.each([
    ['session.ended', { type: 'session.ended', object: 'event', data: { id: 'sess_2abc', user_id: 'user_1', status: 'ended' } }, { action: 'end-upstream-session', type: 'session.ended', sessionId: 'sess_2abc' }],
    ['session.removed', { type: 'session.removed', data: { id: 'sess_2abc' } }, { action: 'end-upstream-session', type: 'session.removed', sessionId: 'sess_2abc' }],
    ['session.revoked', { type: 'session.revoked', data: { id: 'sess_2abc' } }, { action: 'end-upstream-session', type: 'session.revoked', sessionId: 'sess_2abc' }],
    ['user.deleted', { type: 'user.deleted', object: 'event', data: { id: 'user_29w', object: 'user', deleted: true } }, { action: 'end-user-sessions', type: 'user.deleted', userId: 'user_29w' }],
    ['an unknown type, whatever its data', { type: 'user.created', data: 'anything' }, { action: 'ignore', type: 'user.created' }],
    ['session.created', { type: 'session.created', data: { id: 'sess_2abc' } }, { action: 'ignore', type: 'session.created' }],
  ])('reads %s', (_name, document, expected) => {
    expect(parseClerkEvent(bytes(document))).toEqual(expected);
  });

  it.each([
    ['not JSON', 'session.ended'],
    ['a JSON array', [{ type: 'session.ended' }]],
    ['JSON null', 'null'],
    ['no type', { data: { id: 'sess_1' } }],
    ['a numeric type', { type: 7, data: { id: 'sess_1' } }],
    ['a type with spaces', { type: 'session ended', data: {} }],
    ['session.ended without data', { type: 'session.ended' }],
    ['session.ended with an array as data', { type: 'session.ended', data: [] }],
    ['session.ended without data.id', { type: 'session.ended', data: { user_id: 'user_1' } }],
    ['session.ended with an empty id', { type: 'session.ended', data: { id: '' } }],
    ['session.ended with a numeric id', { type: 'session.ended', data: { id: 42 } }],
    ['user.deleted with an id holding a colon', { type: 'user.deleted', data: { id: 'user_1:admin' } }],
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0x7d])],
    ['an oversized body', { type: 'user.updated', data: { blob: 'x'.repeat(256 * 1024) } }],
  ])('refuses %s as malformed (400)', (_name, document) => {
    const body = Buffer.isBuffer(document) ? document : bytes(document);
    expect(() => parseClerkEvent(body)).toThrow(expect.objectContaining({ code: 'malformed_body', status: 400 }));
  });
});
