/** Limits progress reports to one per `intervalMs` per node, keeping the latest; `flush()` sends what is held. */
export class ProgressThrottle {
  private last = Number.NEGATIVE_INFINITY;
  private held: { value: number; max: number; text: string | undefined } | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly send: (value: number, max: number, text: string | undefined) => void,
    private readonly intervalMs = 50,
  ) {}

  report(value: number, max: number, text: string | undefined): void {
    const now = Date.now();
    if (now - this.last >= this.intervalMs && this.timer === undefined) {
      this.last = now;
      this.send(value, max, text);
      return;
    }
    this.held = { value, max, text };
    this.timer ??= setTimeout(() => this.flush(), Math.max(0, this.intervalMs - (now - this.last)));
  }

  /** Sends the held report, if any (before the node's output, so the bar ends where the node got to). */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const held = this.held;
    this.held = undefined;
    if (held) {
      this.last = Date.now();
      this.send(held.value, held.max, held.text);
    }
  }

  /** Drops anything held (the node failed or was cancelled). */
  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.held = undefined;
  }
}
