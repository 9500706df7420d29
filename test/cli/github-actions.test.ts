import { assignmentLines, checkTokenValue, exportLine, maskCommands } from '../../src/cli/github-actions';

describe('GitHub Actions output', () => {
  it('writes one ::add-mask:: command per value', () => {
    expect(maskCommands(['a.b.c', 'tgr_x.y'])).toBe('::add-mask::a.b.c\n::add-mask::tgr_x.y\n');
  });

  it('writes NAME=value lines', () => {
    expect(assignmentLines({ TOLLGATE_ACCESS_TOKEN: 'a.b.c', 'expires-at': '1700000000', EMPTY: '' })).toBe(
      'TOLLGATE_ACCESS_TOKEN=a.b.c\nexpires-at=1700000000\nEMPTY=\n',
    );
  });

  it.each([
    ['a value with a newline (a second assignment smuggled in)', { TOLLGATE_ACCESS_TOKEN: 'x\nNODE_OPTIONS=--require /tmp/evil.js' }],
    ['a value with a carriage return', { TOLLGATE_ACCESS_TOKEN: 'x\ry' }],
    ['a name with a space', { 'A B': 'x' }],
    ['a name with =', { 'A=B': 'x' }],
  ])('refuses %s', (_name, values) => {
    expect(() => assignmentLines(values)).toThrow();
  });

  it.each([
    ['a JWT', 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'],
    ['a Tollgate refresh token', 'tgr_AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB'],
  ])('accepts %s as a token value', (_name, value) => {
    expect(checkTokenValue('token', value)).toBe(value);
  });

  it.each([
    ['a newline', 'a.b.c\nX=1'],
    ['a space', 'a b'],
    ['a workflow command', '::set-env name=X::1'],
    ['a quote', "a'b"],
    ['nothing', ''],
  ])('refuses a token value with %s (exit 4)', (_name, value) => {
    expect(() => checkTokenValue('access token', value)).toThrow(expect.objectContaining({ exitCode: 4 }));
  });

  it('single-quotes export values for the shell', () => {
    expect(exportLine('X', "it's")).toBe("export X='it'\\''s'\n");
  });
});
