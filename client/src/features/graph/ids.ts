/** Next free id of the form `${prefix}${n}` given the ids in use (ids of other shapes are ignored). */
export function nextId(prefix: string, used: Iterable<string>): string {
  let max = 0;
  for (const id of used) {
    if (!id.startsWith(prefix)) continue;
    const n = Number(id.slice(prefix.length));
    if (Number.isInteger(n) && n > max) max = n;
  }
  return `${prefix}${max + 1}`;
}

/** Allocates several fresh ids at once. */
export function idAllocator(prefix: string, used: Iterable<string>): () => string {
  let current = Number(nextId(prefix, used).slice(prefix.length)) - 1;
  return () => {
    current += 1;
    return `${prefix}${current}`;
  };
}
