import type { Spread } from './stats';

/** One line of the bench table. */
export interface Row {
  section: string;
  figure: string;
  /** The median (or the one value), formatted. */
  value: string;
  /** `min … max` over the rounds, formatted; empty for single values. */
  range: string;
  target: string;
  verdict: 'PASS' | 'MISS' | '';
  note?: string;
}

/** `n`: a plain count per operation (store requests per request), three decimals. */
export type Unit = 'ops/s' | 'req/s' | 'ms' | 'µs' | 'x' | 'KB' | 'MB' | 'n';

export function formatNumber(value: number, unit: Unit): string {
  if (!Number.isFinite(value)) return 'n/a';
  switch (unit) {
    case 'ops/s':
    case 'req/s':
      return `${Math.round(value).toLocaleString('en-US')} ${unit}`;
    case 'ms':
      return `${value.toFixed(value < 10 ? 3 : 1)} ms`;
    case 'µs':
      return `${value.toFixed(1)} µs`;
    case 'x':
      return `${value.toFixed(2)}×`;
    case 'KB':
      return `${(value / 1024).toFixed(1)} KB`;
    case 'MB':
      return `${(value / 1024 / 1024).toFixed(1)} MB`;
    case 'n':
      return value.toFixed(3);
  }
}

/** A row for a median-of-rounds figure; `check` decides the verdict when there is a target. */
export function spreadRow(section: string, figure: string, value: Spread, unit: Unit, target = '', check?: (median: number) => boolean): Row {
  return {
    section,
    figure,
    value: formatNumber(value.median, unit),
    range: `${formatNumber(value.min, unit)} … ${formatNumber(value.max, unit)}`,
    target,
    verdict: check ? (check(value.median) ? 'PASS' : 'MISS') : '',
  };
}

export function textRow(section: string, figure: string, value: string, target = '', verdict: Row['verdict'] = '', note?: string): Row {
  return { section, figure, value, range: '', target, verdict, note };
}

/** The one table: aligned columns, a blank line between sections, notes under their row. */
export function renderTable(rows: Row[]): string {
  const headers = ['figure', 'median', 'min … max', 'target', ''];
  const cells = rows.map((row) => [row.figure, row.value, row.range, row.target, row.verdict]);
  const widths = headers.map((header, i) => Math.max(header.length, ...cells.map((cell) => cell[i]!.length)));
  const line = (values: string[]) => values.map((value, i) => value.padEnd(widths[i]!)).join('  ').trimEnd();
  const out: string[] = [line(headers), widths.map((width) => '-'.repeat(width)).join('  ')];
  let section = '';
  rows.forEach((row, index) => {
    if (row.section !== section) {
      if (section) out.push('');
      section = row.section;
      out.push(section);
    }
    out.push(line(cells[index]!));
    if (row.note) out.push(`    ${row.note}`);
  });
  return out.join('\n');
}
