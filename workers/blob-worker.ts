/**
 * Start a module worker from a tiny blob: module that imports the bundled script. A worker loaded from its own
 * URL gets its Content-Security-Policy from that script's HTTP response (the page's <meta> CSP does not apply to
 * it, and a static host cannot add headers), so it could reach any origin; a blob: worker inherits the policy of
 * the document that starts it, so `connect-src 'self'` holds for the engine and the parse workers too — the code
 * that reads the user's file. Used by the page (the engine worker) and by the engine (its parse workers).
 */
export function startBlobWorker(scriptUrl: string, base: string, name: string): Worker {
  const moduleUrl = new URL(scriptUrl, base).href;
  const source = new Blob([`import ${JSON.stringify(moduleUrl)};\n`], { type: 'text/javascript' });
  const blobUrl = URL.createObjectURL(source);
  const worker = new Worker(blobUrl, { type: 'module', name });
  // The worker has fetched its source once it runs; revoking later is harmless either way.
  setTimeout(() => URL.revokeObjectURL(blobUrl), 60_000);
  return worker;
}
