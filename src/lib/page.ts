/** What the UI state needs from the page it runs in (AppDeps): the worker bridge, URLs, the sample, downloads. */
import type { ModelUrls } from '../../workers/api';
import type { AppDeps } from './app.svelte';
import { EngineBridge } from './engine';
import { indexedDbSessionStore } from './session-store';

const SAMPLE_PATH = 'samples/wafer_23012020_041211.csv';

/** Model URLs must be absolute and built here: inside the worker a relative URL resolves against the worker's own path. */
export function modelUrls(): ModelUrls {
  const modelJson = new URL(import.meta.env.BASE_URL + 'models/model.json', document.baseURI).href;
  const modelDir = new URL(import.meta.env.BASE_URL + 'models/', document.baseURI).href;
  return { modelJson, modelDir };
}

async function fetchSample(): Promise<File> {
  const url = new URL(import.meta.env.BASE_URL + SAMPLE_PATH, document.baseURI).href;
  const response = await fetch(url);
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const name = SAMPLE_PATH.split('/').pop() ?? 'sample.csv';
  return new File([await response.blob()], name, { type: 'text/csv' });
}

function saveBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.style.display = 'none';
  document.body.append(link);
  link.click();
  link.remove();
  // Give the browser time to start the download before the URL goes away.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export const pageDeps: AppDeps = {
  createBridge: (onDeath) => new EngineBridge(onDeath),
  modelUrls,
  fetchSample,
  saveBlob,
  sessionStore: indexedDbSessionStore,
};
