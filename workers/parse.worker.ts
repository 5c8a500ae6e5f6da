/// <reference lib="webworker" />
/** A parse worker (started by the engine worker): bytes of complete records → rows, via the shared rows.ts code. */
import { handleParseRequest, READY, warmUpParser, type ParseRequest } from './engine/pool';

const scope = self as unknown as DedicatedWorkerGlobalScope;
scope.addEventListener('message', (ev: MessageEvent<ParseRequest>) => {
  const { reply, transfer } = handleParseRequest(ev.data);
  scope.postMessage(reply, transfer);
});
warmUpParser();
scope.postMessage(READY);
