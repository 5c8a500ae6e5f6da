// Benchmark page: exposes window.bench for bench/run.mjs (Playwright). All work runs in bench.worker.js.
import { wrap } from 'comlink';

const worker = new Worker(new URL('./bench.worker.js', import.meta.url), { type: 'module' });
/** @type {any} */
const remote = wrap(worker);
const input = /** @type {HTMLInputElement} */ (document.getElementById('file'));

/** @type {any} */ (window).bench = {
  /** @param {{ sliceSize?: number, mode?: string }} opts */
  parseOnly: (opts) => {
    const file = input.files?.[0];
    if (!file) throw new Error('no file picked');
    return remote.parseOnly(file, opts);
  },
  /** @param {{ rows: number }} opts */
  inference: (opts) => remote.inference(new URL('./models/', document.baseURI).href, opts),
};
document.body.dataset.ready = 'true';
