import type { CheckReport } from './checkRun.js';

/** The readable summary of a check: counts per class, then each listed finding and repair on one line. */
export function checkSummary(report: CheckReport): string {
  const { counts } = report;
  const lines = [
    `check ${report.checkId}: ${report.status}; ${report.entitiesChecked} entities and ${report.claimsChecked} claims and command records checked` +
      `${report.options.sample < 1 ? ` (a ${Math.round(report.options.sample * 100)} % sample)` : ''}`,
    `findings: ${counts.safe} safe to repair, ${counts.operator} for an operator, ${counts.isolate} to isolate`,
  ];
  for (const f of report.findings)
    lines.push(`  [${f.class}] ${f.kind} ${f.entityType ?? ''} ${f.entityId ?? ''}: ${f.detail}`.replace(/\s+/g, ' '));
  for (const r of report.repairs) lines.push(`  repair ${r.result}: ${r.detail}`);
  return lines.join('\n');
}

/** The exit code of `npm run check`: 0 clean (or only safe findings, all repaired), 1 otherwise. */
export function checkExitCode(report: CheckReport): number {
  const unrepairedSafe = report.counts.safe - report.repairs.filter((r) => r.result === 'repaired').length;
  return report.counts.operator + report.counts.isolate + Math.max(0, unrepairedSafe) === 0 ? 0 : 1;
}
