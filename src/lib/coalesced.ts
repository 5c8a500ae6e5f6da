/**
 * One call of `task` at a time. A request while it runs is kept — the latest one wins — and run when it ends, so a
 * burst of requests (edits, threshold drags) costs at most two calls, and the last answer is for the last request.
 */
export class Coalesced<T = void> {
  private running = false;
  private queued: { value: T } | null = null;

  constructor(private readonly task: (value: T) => Promise<void>) {}

  async request(value: T): Promise<void> {
    if (this.running) {
      this.queued = { value };
      return;
    }
    this.running = true;
    try {
      for (let next: { value: T } | null = { value }; next !== null; next = this.queued) {
        this.queued = null;
        await this.task(next.value);
      }
    } finally {
      this.running = false;
    }
  }
}
