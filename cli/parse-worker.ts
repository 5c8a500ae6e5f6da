/**
 * A parse worker of the command-line tool (a Node worker thread; the page's is workers/parse.worker.ts): the
 * bytes of complete records → rows, by the same shared code (pool.ts handleParseRequest → rows.ts).
 */
import { parentPort } from 'node:worker_threads';
import { handleParseRequest, READY, warmUp, type ParseRequest } from '../workers/engine/pool';

const port = parentPort;
if (port === null) throw new Error('cli/parse-worker.ts runs as a worker thread only');
port.on('message', (req: ParseRequest) => {
  void handleParseRequest(req).then(({ reply, transfer }) => port.postMessage(reply, transfer));
});
// Ready once warmed up (the JIT has compiled the conversion); a warm-up failure is no reason not to serve.
void warmUp()
  .catch(() => undefined)
  .then(() => port.postMessage(READY));
