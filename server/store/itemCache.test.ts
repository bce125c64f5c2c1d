import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNodeTestContext, type NodeTestContext } from '../../tests/helpers/nodeTestContext.ts';
import { makeTempDir } from '../../tests/helpers/tempDir.ts';
import { createItemCache } from './itemCache.ts';

let tmp: ReturnType<typeof makeTempDir>;
let t: NodeTestContext;
beforeEach(() => {
  tmp = makeTempDir();
  t = createNodeTestContext({ dataDir: tmp.dir, nodeType: 'test/basic/caption', nodeVersion: '1.0.0' });
});
afterEach(() => {
  t.close();
  tmp.cleanup();
});

const items = (n: number) => Array.from({ length: n }, (_, i) => `img-${i}`);

async function mapUpper(list: string[], salt: unknown, calls: string[], concurrency?: number) {
  return t.ctx.itemCache.map(list, {
    key: (s) => s,
    salt,
    ...(concurrency === undefined ? {} : { concurrency }),
    run: async (s) => {
      calls.push(s);
      return { text: s.toUpperCase() };
    },
  });
}

describe('SqliteItemCache', () => {
  it('adding one item to 500 processes exactly one', async () => {
    const first: string[] = [];
    const r1 = await mapUpper(items(500), { prefix: 'a' }, first);
    expect(first).toHaveLength(500);
    expect(r1[42]).toEqual({ text: 'IMG-42' });
    const second: string[] = [];
    const r2 = await mapUpper(items(501), { prefix: 'a' }, second);
    expect(second).toEqual(['img-500']);
    expect(r2).toHaveLength(501);
    expect(r2[500]).toEqual({ text: 'IMG-500' });
    expect(r2.slice(0, 500)).toEqual(r1);
  });

  it('changing the salt reprocesses every item; salt key order does not matter', async () => {
    await mapUpper(items(5), { a: 1, b: 2 }, []);
    const same: string[] = [];
    await mapUpper(items(5), { b: 2, a: 1 }, same);
    expect(same).toEqual([]);
    const changed: string[] = [];
    await mapUpper(items(5), { a: 1, b: 3 }, changed);
    expect(changed).toHaveLength(5);
  });

  it('computes duplicate items once', async () => {
    const calls: string[] = [];
    const r = await mapUpper(['a', 'b', 'a', 'a'], 0, calls);
    expect(calls).toEqual(['a', 'b']);
    expect(r).toEqual([{ text: 'A' }, { text: 'B' }, { text: 'A' }, { text: 'A' }]);
  });

  it('keys on node type and version', async () => {
    await mapUpper(items(3), 0, []);
    const other = createItemCache({ db: t.db, nodeType: 'test/basic/caption', nodeVersion: '2.0.0' });
    const calls: string[] = [];
    await other.map(items(3), { key: (s) => s, salt: 0, run: async (s) => calls.push(s) });
    expect(calls).toHaveLength(3);
  });

  it('reports every item through onItem and respects the concurrency bound', async () => {
    let active = 0;
    let peak = 0;
    const seen: [number, number, boolean][] = [];
    await t.ctx.itemCache.map(items(2), { key: (s) => s, salt: 's', run: async (s) => s });
    await t.ctx.itemCache.map(items(8), {
      key: (s) => s,
      salt: 's',
      concurrency: 3,
      run: async (s) => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 5));
        active--;
        return s;
      },
      onItem: (done, total, cached) => seen.push([done, total, cached]),
    });
    expect(peak).toBe(3);
    expect(seen.map((s) => s[0])).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(seen.filter((s) => s[2])).toHaveLength(2);
    expect(seen.every((s) => s[1] === 8)).toBe(true);
  });

  it('keeps finished items when one fails, and names the failing item', async () => {
    const list = items(4);
    await expect(
      t.ctx.itemCache.map(list, {
        key: (s) => s,
        salt: 0,
        concurrency: 1,
        run: async (s) => {
          if (s === 'img-2') throw new Error('unreadable image');
          return s;
        },
      }),
    ).rejects.toThrow('item 3 of 4: unreadable image');
    const calls: string[] = [];
    await t.ctx.itemCache.map(list, {
      key: (s) => s,
      salt: 0,
      run: async (s) => {
        calls.push(s);
        return s;
      },
    });
    expect(calls).toEqual(['img-2', 'img-3']);
  });

  it('treats a result whose artifact is gone as a miss', async () => {
    const hash = await t.store.put(Buffer.from('thumb'));
    await t.ctx.itemCache.map(['x'], { key: (s) => s, salt: 0, run: async () => ({ hash }) });
    t.store.evict(hash);
    const calls: string[] = [];
    await t.ctx.itemCache.map(['x'], {
      key: (s) => s,
      salt: 0,
      run: async (s) => {
        calls.push(s);
        return { hash };
      },
    });
    expect(calls).toEqual(['x']);
  });

  it('persists across reopening the database', async () => {
    await mapUpper(items(3), 1, []);
    t.close();
    t = createNodeTestContext({ dataDir: tmp.dir, nodeType: 'test/basic/caption', nodeVersion: '1.0.0' });
    const calls: string[] = [];
    expect(await mapUpper(items(3), 1, calls)).toEqual([
      { text: 'IMG-0' },
      { text: 'IMG-1' },
      { text: 'IMG-2' },
    ]);
    expect(calls).toEqual([]);
  });

  it('stops when the signal is aborted', async () => {
    const calls: string[] = [];
    await expect(
      t.ctx.itemCache.map(items(10), {
        key: (s) => s,
        salt: 0,
        concurrency: 1,
        run: async (s) => {
          calls.push(s);
          if (calls.length === 2) t.abort();
          return s;
        },
      }),
    ).rejects.toMatchObject({ name: 'AbortError' });
    expect(calls).toHaveLength(2);
  });
});
