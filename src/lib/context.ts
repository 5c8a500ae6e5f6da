/**
 * The UI state is shared through Svelte context (as the Svelte REPL shares its Workspace), not a module
 * singleton: App.svelte creates it with a bridge, components ask for it, and tests give their own.
 */
import { getContext, setContext } from 'svelte';
import type { AppState } from './app.svelte';

const APP_STATE = Symbol('app-state');

export function setAppState(app: AppState): AppState {
  return setContext(APP_STATE, app);
}

export function getAppState(): AppState {
  const app = getContext<AppState | undefined>(APP_STATE);
  if (!app) throw new Error('getAppState() outside the app: App.svelte sets the state in context.');
  return app;
}
