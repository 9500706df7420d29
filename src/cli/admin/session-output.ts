import { sessionState } from '../../domain/session';
import type { AdminSession } from '../../domain/session-filter';

/**
 * A session as the admin commands print it (`--json`): what an operator needs
 * and nothing a client could use. Never a token, never a refresh-token hash
 * (`refreshHash`, `prevRefreshHash`, `usedHashes` are left out); the DPoP key
 * thumbprint is public. Times are epoch seconds, as stored.
 */
export interface SessionSummary {
  sid: string;
  sub: string;
  trust: string;
  kind: string;
  clientId: string | null;
  scopes: string[];
  /** `active` (usable now) or `ended`. */
  state: 'active' | 'ended';
  /** As stored: `active`, `revoked` or `ended` (a session past a limit stays `active` here until a refresh records it). */
  status: string;
  sidCreatedAt: number;
  sidExpiry: number;
  idleExpiry: number;
  refreshCount: number;
  /** When the last refresh happened (epoch seconds), null before the first. */
  lastRefreshAt: number | null;
  /** Why it ended: the recorded reason, or the limit it has passed. */
  endReason: string | null;
  endedAt: number | null;
  /** Who ended it with `tollgate sessions revoke`, and why. */
  adminRevocation: { by: string; reason: string; at: number } | null;
  upstreamSid: string | null;
  dpopJkt: string | null;
  /** `gh` for ci sessions, `user`/`act` for user sessions: as every access token of the session carries it. */
  context: Record<string, unknown>;
}

export function summarize(session: AdminSession, now: number): SessionSummary {
  const state = sessionState(session, now);
  return {
    sid: session.sid,
    sub: session.sub,
    trust: session.trust,
    kind: session.kind,
    clientId: session.clientId ?? null,
    scopes: [...(session.scopes ?? [])],
    state: state.active ? 'active' : 'ended',
    status: session.status,
    sidCreatedAt: session.sidCreatedAt,
    sidExpiry: session.sidExpiry,
    idleExpiry: session.idleExpiry,
    refreshCount: session.refreshCount,
    lastRefreshAt: session.rotatedAt ?? null,
    endReason: state.active ? null : state.reason,
    endedAt: session.endedAt ?? null,
    adminRevocation: session.adminRevocation ? { by: session.adminRevocation.by, reason: session.adminRevocation.reason, at: session.adminRevocation.at } : null,
    upstreamSid: session.upstreamSid ?? null,
    dpopJkt: session.jkt ?? null,
    context: session.context ?? {},
  };
}

/** `2026-12-06T14:03:09Z`, or `-`. */
export function isoTime(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '-';
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const COLUMNS: [string, (summary: SessionSummary) => string][] = [
  ['SID', (s) => s.sid],
  ['SUB', (s) => s.sub],
  ['KIND', (s) => s.kind],
  ['CREATED', (s) => isoTime(s.sidCreatedAt)],
  ['EXPIRES', (s) => isoTime(s.sidExpiry)],
  ['REFRESHES', (s) => String(s.refreshCount)],
  ['LAST REFRESH', (s) => isoTime(s.lastRefreshAt)],
  ['STATE', (s) => (s.state === 'active' ? 'active' : `ended (${s.endReason})`)],
];

/** A readable table, one line per session, columns padded to their widest value. Control characters are shown escaped. */
export function sessionTable(summaries: readonly SessionSummary[]): string {
  const rows = [COLUMNS.map(([title]) => title), ...summaries.map((summary) => COLUMNS.map(([, cell]) => printable(cell(summary))))];
  const widths = COLUMNS.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ')).join('\n') + '\n';
}

/** `sessions show`: one `name: value` line per fact. */
export function sessionDetail(summary: SessionSummary): string {
  const lines: [string, string][] = [
    ['sid', summary.sid],
    ['sub', summary.sub],
    ['trust', summary.trust],
    ['kind', summary.kind],
    ['client id', summary.clientId ?? '-'],
    ['scopes', summary.scopes.join(' ') || '-'],
    ['state', summary.state === 'active' ? 'active' : `ended (${summary.endReason})`],
    ['created', isoTime(summary.sidCreatedAt)],
    ['expires', isoTime(summary.sidExpiry)],
    ['idle until', isoTime(summary.idleExpiry)],
    ['refreshes', String(summary.refreshCount)],
    ['last refresh', isoTime(summary.lastRefreshAt)],
    ['ended at', isoTime(summary.endedAt)],
  ];
  if (summary.adminRevocation) {
    lines.push(['revoked by', summary.adminRevocation.by], ['revoke reason', summary.adminRevocation.reason]);
  }
  if (summary.upstreamSid) lines.push(['upstream sid', summary.upstreamSid]);
  if (summary.dpopJkt) lines.push(['DPoP key (jkt)', summary.dpopJkt]);
  for (const [group, value] of Object.entries(summary.context)) {
    if (value && typeof value === 'object') {
      for (const [name, inner] of Object.entries(value as Record<string, unknown>)) lines.push([`${group}.${name}`, typeof inner === 'string' ? inner : JSON.stringify(inner)]);
    }
  }
  const width = Math.max(...lines.map(([name]) => name.length));
  return lines.map(([name, value]) => `${`${name}:`.padEnd(width + 2)}${printable(value)}`).join('\n') + '\n';
}

/** Claim values are data from identity tokens: a control character must not move the operator's cursor. */
function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
