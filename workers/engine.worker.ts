/// <reference lib="webworker" />
/** The Comlink edge: the engine runs in this module worker; the UI wraps it with `wrap<EngineApi>()`. */
import { expose } from 'comlink';
import { createEngine } from './engine/engine';

expose(createEngine());
