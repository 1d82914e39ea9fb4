// The printed report: the same figures as the JSON record, as fixed-width text tables.
import type { BenchRecord, GoalResult } from './result.ts';
import { routeLabel } from './routes.ts';
import { median } from './stats.ts';
import { ROW_LABELS } from './targets.ts';

const MB = 1024 * 1024;

export function fmt(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return '-';
  return value.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function goalValue(goal: GoalResult): string {
  if (goal.measured === null) return '-';
  return goal.unit === 'x' ? `${fmt(goal.measured, 2)}x` : `${fmt(goal.measured)} ms`;
}

function headerLines(record: BenchRecord): string[] {
  const s = record.settings;
  return [
    `node ${record.machine.node}, ${record.machine.cpus} CPUs, ${s.loadGeneratorVersion}; ` +
      `${s.rounds} interleaved rounds and ${s.pairedRounds} paired rounds x ${s.durationSeconds} s, ` +
      `${s.connections} connections, warm-up up to ${s.warmupSeconds} s a route; ${s.pinningNote}`,
    `load average before ${record.machine.loadAverageBefore.map((n) => n.toFixed(2)).join(' ')}, ` +
      `after ${record.machine.loadAverageAfter.map((n) => n.toFixed(2)).join(' ')}; ` +
      `elapsed ${fmt(record.elapsedSeconds)} s; book-service runs ${s.serviceBuild}`,
    ...record.skipped.map((skipped) => `skipped ${skipped.id}: ${skipped.reason}`),
  ];
}

function rowsTable(record: BenchRecord): string {
  return table(
    [
      'row',
      'route',
      'req/s',
      'x raw',
      'x fastify',
      'p50 ms',
      'p99 ms',
      'CPU us/req',
      'proxy us/req',
      'errors',
      'start ms',
      'idle RSS MB',
      'peak RSS MB',
    ],
    // Start-up and memory belong to the row, not the route: shown on its list line.
    record.summary.map((row) => [
      `${row.id}: ${ROW_LABELS[row.id]}`,
      routeLabel(row.route),
      fmt(row.requestsPerSecond),
      fmt(row.ratioToRaw, 2),
      fmt(row.ratioToFastify, 2),
      fmt(row.p50Ms, 2),
      fmt(row.p99Ms, 2),
      fmt(row.cpuMicrosPerRequest),
      fmt(row.proxyCpuMicrosPerRequest),
      fmt(row.errors),
      row.route === 'list' ? fmt(row.startupMs) : '',
      row.route === 'list' ? fmt(row.idleRssBytes / MB, 1) : '',
      row.route === 'list' ? fmt(row.peakRssBytes / MB, 1) : '',
    ]),
  );
}

/** Fresh starts of each sampled row: how many, and their spread. */
function startupTable(record: BenchRecord): string | undefined {
  const sampled = record.rows.filter((row) => row.startupMs.length > 1);
  if (sampled.length === 0) return undefined;
  const spread = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return [sorted[0] ?? Number.NaN, median(sorted), sorted.at(-1) ?? Number.NaN];
  };
  return table(
    ['start to first 200', 'starts', 'min ms', 'median ms', 'max ms', 'idle RSS MB (median)'],
    sampled.map((row) => [
      `${row.id}: ${ROW_LABELS[row.id]}`,
      String(row.startupMs.length),
      ...spread(row.startupMs).map((ms) => fmt(ms)),
      fmt(median(row.idleRssBytes) / MB, 1),
    ]),
  );
}

/** The paired rounds: each row's CPU per request, loaded at the same time, over Fastify's. */
function pairedTable(record: BenchRecord): string | undefined {
  if (!record.paired) return undefined;
  const { rows, summary } = record.paired;
  const others = rows.slice(1, -1);
  const last = rows.at(-1);
  return table(
    [
      'paired rounds (loaded at once)',
      ...rows.map((row) => `${row} CPU us/req`),
      `${rows[0]} / ${last}`,
      'rounds min-max',
      ...others.map((row) => `${row} / ${last}`),
      'errors',
    ],
    summary.map((p) => [
      routeLabel(p.route),
      ...p.cpuMicrosPerRequest.map((micros) => fmt(micros)),
      `${fmt(p.ratio, 2)}x`,
      `${fmt(p.ratioMin, 2)}-${fmt(p.ratioMax, 2)}`,
      ...others.map((_, i) => `${fmt(p.ratios[i + 1] ?? Number.NaN, 2)}x`),
      fmt(p.errors),
    ]),
  );
}

/** The guard's report: the paired figures and one verdict. */
export function formatGuard(record: BenchRecord): string {
  const guard = record.guard;
  const verdict = guard
    ? `guard: ${guard.status} (book-service CPU per request <= ${guard.maxRatio}x Fastify's on every route)` +
      guard.reasons.map((reason) => `\n  ${reason}`).join('')
    : 'guard: not run';
  return [...headerLines(record), '', pairedTable(record) ?? 'no paired rounds', '', verdict].join(
    '\n',
  );
}

export function formatReport(record: BenchRecord): string {
  if (record.guard) return formatGuard(record);
  const lines: string[] = [...headerLines(record), '', rowsTable(record)];
  for (const extra of [pairedTable(record), startupTable(record)]) {
    if (extra) lines.push('', extra);
  }
  const multi = record.rows.filter((row) => row.processes.length > 1);
  if (multi.length > 0) {
    lines.push('');
    lines.push(
      table(
        ['process', 'pid', 'idle RSS MB', 'peak RSS MB'],
        multi.flatMap((row) =>
          row.processes.map((p) => [
            `${row.id} ${p.role}: ${p.command.slice(0, 60)}`,
            String(p.pid),
            fmt(p.idleRssBytes / MB, 1),
            fmt(p.peakRssBytes / MB, 1),
          ]),
        ),
      ),
    );
  }
  const different = record.rows.flatMap((row) =>
    row.bodies.filter((b) => !b.same).map((b) => `${row.id} ${routeLabel(b.route)}`),
  );
  if (different.length > 0) {
    lines.push('');
    lines.push(`body differs from the raw row's: ${different.join(', ')}`);
  }
  lines.push('');
  lines.push(
    table(
      ['goal', 'measured', 'status'],
      record.goals.map((g) => [
        g.description,
        goalValue(g),
        g.note ? `${g.status} (${g.note})` : g.status,
      ]),
    ),
  );
  return lines.join('\n');
}
