/** Coalesces bursts of restart requests into one run, and never runs two at once (no `vscode` import). */

export class Coalescer {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private waiters: Array<() => void> = [];
  private tail: Promise<void> = Promise.resolve();
  private disposed = false;

  constructor(
    private readonly task: () => Promise<void>,
    private readonly delayMs: number,
  ) {}

  /** Runs the task once `delayMs` after the last of a burst of calls; resolves when that run ends. */
  trigger(): Promise<void> {
    if (this.disposed) {
      return Promise.resolve();
    }
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
    }
    const done = new Promise<void>((resolve) => this.waiters.push(resolve));
    this.timer = setTimeout(() => void this.flush(), this.delayMs);
    return done;
  }

  /** Runs the task now (after any run in progress), absorbing pending triggers. */
  now(): Promise<void> {
    if (this.disposed) {
      return Promise.resolve();
    }
    const done = new Promise<void>((resolve) => this.waiters.push(resolve));
    void this.flush();
    return done;
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.waiters.splice(0).forEach((resolve) => resolve());
  }

  private flush(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const waiters = this.waiters.splice(0);
    // Chain on the previous run so a restart never overlaps another; a failing task doesn't break the chain.
    const run = this.tail.then(() => (this.disposed ? undefined : this.task()));
    this.tail = run.then(
      () => undefined,
      () => undefined,
    );
    return this.tail.then(() => waiters.forEach((resolve) => resolve()));
  }
}
