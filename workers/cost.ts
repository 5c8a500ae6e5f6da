/**
 * The cost helper's arithmetic, shared by the engine's tests and the UI: the expected cost per wafer of a
 * threshold, from the misses and false alarms the engine counted on its grid.
 */
import type { CostCounts } from './api';

/** Expected cost per wafer at each grid threshold, and the grid threshold that minimises it (the lowest on ties). */
export function expectedCost(counts: CostCounts, missCost: number, falseAlarmCost: number): { cost: number[]; best: number } {
  const n = Math.max(1, counts.fails + counts.passes);
  const cost = counts.missed.map((m, i) => (missCost * m + falseAlarmCost * (counts.falseAlarms[i] as number)) / n);
  let best = 0;
  cost.forEach((c, i) => {
    if (c < (cost[best] as number)) best = i;
  });
  return { cost, best };
}
