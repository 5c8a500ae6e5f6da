/// <reference lib="webworker" />
/**
 * A parse worker (started by the engine worker): a byte range of the file, or the bytes of complete records,
 * → rows, via the shared ranges.ts / rows.ts code.
 */
import { handleParseRequest, READY, warmUp, type ParseRequest } from './engine/pool';

const scope = self as unknown as DedicatedWorkerGlobalScope;
scope.addEventListener('message', (ev: MessageEvent<ParseRequest>) => {
  void handleParseRequest(ev.data).then(({ reply, transfer }) => scope.postMessage(reply, transfer));
});
// Ready only once warmed up; a warm-up failure is no reason not to serve (the load reports real problems).
void warmUp()
  .catch(() => undefined)
  .then(() => scope.postMessage(READY));
