import { describe, expect, it } from 'vitest';
import { Semaphore } from './semaphore.ts';

describe('Semaphore', () => {
  it('grants slots in order and hands a released slot to the next waiter', async () => {
    const s = new Semaphore(1);
    const order: string[] = [];
    const r1 = await s.acquire();
    const p2 = s.acquire().then((r) => {
      order.push('2');
      return r;
    });
    const p3 = s.acquire().then((r) => {
      order.push('3');
      return r;
    });
    expect(s.pending).toBe(3);
    r1();
    r1(); // releasing twice is harmless
    const r2 = await p2;
    expect(order).toEqual(['2']);
    r2();
    (await p3)();
    expect(order).toEqual(['2', '3']);
    expect(s.pending).toBe(0);
  });

  it('a waiter whose signal aborts leaves the queue without taking a slot', async () => {
    const s = new Semaphore(1);
    const r1 = await s.acquire();
    const controller = new AbortController();
    const waiting = s.acquire(controller.signal);
    const next = s.acquire();
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
    r1();
    (await next)();
    expect(s.pending).toBe(0);
    await expect(s.acquire(controller.signal)).rejects.toMatchObject({ name: 'AbortError' });
  });
});
