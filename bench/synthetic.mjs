// Deterministic SECOM-like data for the benchmark, shared by the file generator (Node), the onnxruntime-node
// reference (Node) and the bench worker (browser).

/** A small fixed-seed PRNG (mulberry32): the same numbers on every machine. */
export function mulberry32(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** rows × features readings drawn between each sensor's training p01 and p99 (NaN at its missing rate). */
export function syntheticMatrix(model, rows) {
  const random = mulberry32(12345);
  const nF = model.features.length;
  const stats = model.features.map((f) => model.sensors?.[f] ?? null);
  const m = new Float32Array(rows * nF);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < nF; c++) {
      const s = stats[c];
      m[r * nF + c] = !s || s.p01 === null || random() < s.missing_rate ? Number.NaN : s.p01 + (s.p99 - s.p01) * random();
    }
  }
  return m;
}
