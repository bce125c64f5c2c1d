import { abortError } from './nodeContext.ts';

/**
 * Counting semaphore. Heavy nodes take the engine's lock (a semaphore of 1), which the server shares across
 * runs; a waiter whose run is cancelled leaves the queue without taking a slot.
 */
export class Semaphore {
  private available: number;
  private readonly waiters: { resolve: (release: () => void) => void; reject: (e: unknown) => void }[] = [];

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new Error('semaphore capacity must be a positive integer');
    this.available = capacity;
  }

  /** Resolves with a release function once a slot is free; rejects with an AbortError if cancelled first. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(abortError());
    if (this.available > 0) {
      this.available--;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (release: () => void) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(release);
        },
        reject,
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(abortError());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Slots in use plus callers waiting, e.g. for a status display. */
  get pending(): number {
    return this.capacity - this.available + this.waiters.length;
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) next.resolve(this.releaser());
      else this.available++;
    };
  }
}
