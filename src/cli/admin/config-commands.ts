import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { ConfigError, parseConfig, type TollgateConfig } from '../../config/config';
import { explainToken, type Explanation } from '../../domain/trust-explain';
import type { CliIo } from '../run-cli';
import { CliError, ExitCodes, type ExitCode } from '../cli-error';
import type { AdminLine } from './admin-options';

export async function configCommand(line: AdminLine, io: CliIo): Promise<ExitCode> {
  return line.action === 'config check' ? check(line, io) : explain(line, io);
}

async function readConfigText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new CliError(ExitCodes.usage, `cannot read the config file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/**
 * `config check <file>`: the validation `cdk synth` runs (`deployConfigFromText`:
 * the schema, then what only a deployment can get wrong), or with `--local`
 * the schema alone, as `npm start` runs it. Every problem on its own line, by
 * path; exit 1 when there is any.
 */
async function check(line: AdminLine, io: CliIo): Promise<ExitCode> {
  const path = line.positionals[0]!;
  const text = await readConfigText(path);
  let config: TollgateConfig;
  try {
    if (line.localConfig) config = parseConfig(text, path);
    else {
      // The synth's own validation (src/config/deploy-config.ts, which cdk/ runs at synth).
      const { deployConfigFromText } = await import('../../config/deploy-config');
      config = deployConfigFromText(text, path).config;
    }
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    if (line.json) io.stdout.write(`${JSON.stringify({ valid: false, problems: error.problems })}\n`);
    for (const problem of error.problems) io.stderr.write(`${path}: ${problem}\n`);
    io.stderr.write(`${error.problems.length} problem${error.problems.length === 1 ? '' : 's'}\n`);
    return ExitCodes.refused;
  }
  const summary = {
    valid: true,
    trust: config.trust.map((trust) => `${trust.name} (${trust.kind}, ${trust.rules.length} rule${trust.rules.length === 1 ? '' : 's'})`),
    proxyRoutes: config.proxy?.routes.length ?? 0,
    webhooks: config.webhooks?.clerk ? ['clerk'] : [],
  };
  if (line.json) io.stdout.write(`${JSON.stringify(summary)}\n`);
  else {
    io.stdout.write(
      `${path}: valid${line.localConfig ? ' (local mode checks)' : ' (as cdk synth checks it)'}\n` +
        `  trust:   ${summary.trust.join('; ')}\n` +
        `  proxy:   ${config.proxy ? `${summary.proxyRoutes} route${summary.proxyRoutes === 1 ? '' : 's'} to ${config.proxy.upstreamUrl}` : 'none'}\n` +
        `  webhooks: ${summary.webhooks.join(', ') || 'none'}\n`,
    );
  }
  return ExitCodes.ok;
}

/** A compact JWS: three base64url parts. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * `config explain <file> --token <jwt or file>`: which trust entry the token
 * would match, which conditions held, what scopes it would get. Offline: the
 * token is decoded here and sent nowhere; it is never printed (its claims
 * are). The signature is not checked. Exit 0 when an exchange would be
 * granted scopes, 1 when it would be refused.
 */
async function explain(line: AdminLine, io: CliIo): Promise<ExitCode> {
  const path = line.positionals[0]!;
  let config: TollgateConfig;
  try {
    config = parseConfig(await readConfigText(path), path);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) io.stderr.write(`${path}: ${problem}\n`);
    throw new CliError(ExitCodes.refused, 'the config is not valid (see tollgate config check)');
  }
  const token = await readToken(line.token!, io);
  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(token) as Record<string, unknown>;
    claims = decodeJwt(token) as Record<string, unknown>;
  } catch {
    throw new CliError(ExitCodes.usage, '--token: not a JWT (header.payload.signature, base64url)');
  }
  const explanation = explainToken(config, header, claims, Math.floor(io.now() / 1000));
  if (line.json) io.stdout.write(`${JSON.stringify({ signatureChecked: false, ...explanation }, null, 2)}\n`);
  else io.stdout.write(explanationText(explanation, config));
  return explanation.scopes ? ExitCodes.ok : ExitCodes.refused;
}

/** A file when one has that name (`-`: stdin), else the token itself when it looks like one. */
async function readToken(value: string, io: CliIo): Promise<string> {
  if (value !== '-' && !existsSync(value) && JWT_SHAPE.test(value)) return value;
  let bytes: Buffer;
  try {
    bytes = value === '-' ? await io.readStdin() : await readFile(value);
  } catch (error) {
    throw new CliError(ExitCodes.usage, `--token: neither a JWT nor a readable file (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const token = bytes.toString('utf8').trim();
  if (!JWT_SHAPE.test(token)) throw new CliError(ExitCodes.usage, `--token: the file ${value} does not hold a JWT`);
  return token;
}

function explanationText(explanation: Explanation, config: TollgateConfig): string {
  const out: string[] = ['Offline: the signature is NOT checked (that needs the issuer\'s keys); this is what Tollgate would decide if it verifies.', ''];
  if (explanation.entries.length === 0) {
    out.push(`issuer: ${explanation.issuer ?? '(no iss)'}: no trust entry has this issuer (entries: ${config.trust.map((trust) => `${trust.name} ${trust.issuer}`).join('; ')})`);
    out.push('', 'result: refused (untrusted issuer)');
    return `${out.join('\n')}\n`;
  }
  out.push(`issuer: ${explanation.issuer}`);
  for (const entry of explanation.entries) {
    out.push('', `trust entry ${entry.trust} (${entry.kind})${entry.trust === explanation.chosen ? ': the one Tollgate would use' : ''}`);
    for (const check of entry.checks) out.push(`  ${check.held ? 'ok  ' : 'FAIL'} ${check.check}: ${check.detail}`);
    for (const rule of entry.rules) {
      out.push(`  rule ${rule.index}: ${rule.matched ? 'matches' : 'does not match'} → ${rule.scopes.join(' ')}`);
      for (const condition of rule.conditions) {
        out.push(`    ${condition.held ? 'ok  ' : 'FAIL'} ${condition.claim} = ${JSON.stringify(condition.actual)}; wanted ${condition.patterns.map((pattern) => JSON.stringify(pattern)).join(' or ')}`);
      }
    }
  }
  out.push('');
  if (explanation.scopes) out.push(`result: granted "${explanation.scopes.join(' ')}" by trust entry ${explanation.chosen}`);
  else if (explanation.chosen) out.push(`result: refused: no rule of trust entry ${explanation.chosen} matches (invalid_grant "no trust rule grants a scope to this subject")`);
  else out.push('result: refused: no trust entry with this issuer accepts the token (see FAIL above)');
  return `${out.join('\n')}\n`;
}
