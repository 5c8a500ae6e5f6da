import type { EngineError, EngineErrorCode, Result } from '../api';

/** Said wherever a file is refused for its size: what to use instead. One place, so the wording stays the same. */
export const BIGGER_FILES_HINT =
  'For bigger files, use the command-line tool, which streams a file of any size (`npx sensor-fault predict FILE.csv -o OUT.csv` in the project folder, see its README), or split the file into smaller parts and upload them one at a time.';

/** An error the engine means to report as-is (code + ready-to-show message). */
export class EngineFailure extends Error {
  readonly code: EngineErrorCode;
  constructor(code: EngineErrorCode, message: string) {
    super(message);
    this.name = 'EngineFailure';
    this.code = code;
  }
  toEngineError(): EngineError {
    return { code: this.code, message: this.message };
  }
}

export function fail(code: EngineErrorCode, message: string): never {
  throw new EngineFailure(code, message);
}

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function toEngineError(e: unknown): EngineError {
  if (e instanceof EngineFailure) return e.toEngineError();
  if (e instanceof RangeError) {
    return {
      code: 'too-large',
      message: `This file is too large for this browser's memory (${e.message}). ${BIGGER_FILES_HINT}`,
    };
  }
  const msg = e instanceof Error ? e.message : String(e);
  return { code: 'internal', message: `Unexpected engine error: ${msg}` };
}

export function errResult<T>(e: unknown): Result<T> {
  return { ok: false, error: toEngineError(e) };
}

/** Cooperative cancellation: a token checked between slices/batches. */
export class CancelToken {
  cancelled = false;
  throwIfCancelled(): void {
    if (this.cancelled) fail('cancelled', 'Cancelled.');
  }
}
