import { parseCommandLine } from '../../src/cli/cli-options';

describe('parseCommandLine', () => {
  it.each([
    [[], { kind: 'help', command: undefined }],
    [['--help'], { kind: 'help', command: undefined }],
    [['help', 'curl'], { kind: 'help', command: 'curl' }],
    [['refresh', '-h'], { kind: 'help', command: 'refresh' }],
  ])('%j asks for help', (argv, expected) => {
    expect(parseCommandLine(argv)).toEqual(expected);
  });

  it('reads exchange options', () => {
    const invocation = parseCommandLine(['exchange', '--url', 'https://t.example.com', '--audience', 'aud', '--scope', 'a b', '--output', 'token', '--subject-token-file', '-']);
    expect(invocation).toMatchObject({
      kind: 'run',
      line: { command: 'exchange', url: 'https://t.example.com', audience: 'aud', scope: 'a b', output: 'token', subjectTokenFile: '-' },
    });
  });

  it('reads curl options, repeatable headers and data, and the path', () => {
    const invocation = parseCommandLine(['curl', '/orders?x=1', '-X', 'put', '-H', 'Accept: application/json', '-H', 'X-A: 1', '-d', 'a=1', '-d', '@body.json', '-i', '-f']);
    expect(invocation).toMatchObject({
      kind: 'run',
      line: { command: 'curl', path: '/orders?x=1', method: 'PUT', headers: ['Accept: application/json', 'X-A: 1'], data: ['a=1', '@body.json'], include: true, fail: true },
    });
  });

  it.each([
    [['frobnicate'], /^unknown command "frobnicate"/],
    [['help', 'frobnicate'], /^unknown command "frobnicate"/],
    [['exchange', '--bogus'], /^Unknown option '--bogus'.* \(see tollgate exchange --help\)$/],
    [['exchange', '--url'], /argument missing/],
    [['exchange', '--output', 'yaml'], /^--output must be one of env, json, token$/],
    [['exchange', '--scope', ''], /^--scope needs a value$/],
    [['exchange', '--subject-token', 'a', '--subject-token-file', 'b'], /^give only one of --subject-token and --subject-token-file$/],
    [['refresh', '--refresh-token', 'a', '--refresh-token-file', 'b'], /^give only one of/],
    [['verify', '--token', 'a', '--token-file', 'b'], /^give only one of/],
    [['verify', 'stray'], /Unexpected argument 'stray'/],
    [['curl'], /^give exactly one path/],
    [['curl', '/a', '/b'], /^give exactly one path/],
    [['curl', '/a', '-X', 'GET /x'], /^-X needs an HTTP method$/],
    [['curl', '/a', '-H', 'no colon'], /^-H needs "Name: value"/],
    [['curl', '/a', '-H', 'Bad Name: x'], /^-H needs "Name: value"/],
  ])('%j is a usage error', (argv, message) => {
    expect(() => parseCommandLine(argv)).toThrow(expect.objectContaining({ exitCode: 2, message: expect.stringMatching(message) }));
  });
});
