import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ProgressThrottle } from './progressThrottle.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('ProgressThrottle', () => {
  it('sends at most one report per interval, keeping the latest, and flushes what it holds', () => {
    const sent: number[] = [];
    const t = new ProgressThrottle((v) => sent.push(v), 50);
    t.report(1, 10, undefined);
    t.report(2, 10, undefined);
    t.report(3, 10, undefined);
    expect(sent).toEqual([1]);
    vi.advanceTimersByTime(50);
    expect(sent).toEqual([1, 3]);
    t.report(4, 10, undefined);
    t.report(5, 10, undefined);
    t.flush();
    expect(sent).toEqual([1, 3, 5]);
    t.flush();
    expect(sent).toEqual([1, 3, 5]);
  });

  it('dispose drops a held report', () => {
    const sent: number[] = [];
    const t = new ProgressThrottle((v) => sent.push(v), 50);
    t.report(1, 2, undefined);
    t.report(2, 2, undefined);
    t.dispose();
    vi.advanceTimersByTime(100);
    expect(sent).toEqual([1]);
  });
});
