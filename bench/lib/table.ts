/** Plain-text tables and number formatting for the benchmark output. */

export type Cell = string | number;

export interface TableOptions {
  title: string;
  headers: string[];
  rows: Cell[][];
  /** Lines printed under the table (caveats, notes). */
  notes?: string[];
}

/** Prints a table; numeric cells and cells that look numeric are right-aligned. */
export function printTable({ title, headers, rows, notes = [] }: TableOptions): void {
  const text = rows.map((row) => row.map((cell) => (typeof cell === 'number' ? fmt(cell) : cell)));
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...text.map((row) => (row[i] ?? '').length)),
  );
  const numeric = headers.map((_, i) => rows.every((row) => isNumeric(row[i])));
  const line = (cells: string[]): string =>
    `| ${cells.map((cell, i) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join(' | ')} |`;
  const out = [
    '',
    `### ${title}`,
    '',
    line(headers),
    `|${widths.map((w, i) => (numeric[i] ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`,
    ...text.map((row) => line(headers.map((_, i) => row[i] ?? ''))),
  ];
  for (const note of notes) out.push(`  ${note}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

function isNumeric(cell: Cell | undefined): boolean {
  if (cell === undefined) return true;
  if (typeof cell === 'number') return true;
  return /^[-+]?[\d,.]+\s*(%|ms|µs|s|k|M|KiB|MiB|x)?$/.test(cell.trim()) || cell.trim() === '-';
}

/** Thousands separators for integers, 3 significant digits for the rest. */
export function fmt(value: number): string {
  if (!Number.isFinite(value)) return '-';
  if (Number.isInteger(value) || Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** Microseconds as milliseconds with two decimals. */
export function ms(us: number): string {
  return Number.isFinite(us) ? (us / 1000).toFixed(2) : '-';
}

export function pct(ratio: number): string {
  return Number.isFinite(ratio) ? `${(ratio * 100).toFixed(0)}%` : '-';
}

/** "PASS"/"FAIL" marker for the one-line summaries. */
export function verdict(ok: boolean | undefined): string {
  return ok === undefined ? 'n/a ' : ok ? 'PASS' : 'FAIL';
}
