// Preloaded into the benchmarked command (`node --import ./bench/rss-hook.mjs …`): writes the process's peak
// resident set size (getrusage ru_maxrss, KiB) and its CPU time to the file named by SENSOR_FAULT_RSS_FILE at exit.
import { writeFileSync } from 'node:fs';

const target = process.env.SENSOR_FAULT_RSS_FILE;
if (target) {
  process.on('exit', () => {
    const u = process.resourceUsage();
    writeFileSync(target, JSON.stringify({ maxRssKiB: u.maxRSS, userMs: u.userCPUTime / 1000, systemMs: u.systemCPUTime / 1000 }));
  });
}
