/**
 * Threads in Node's libuv pool, where sharp runs its pipelines and where async file I/O runs too. Item
 * concurrency of image nodes is sized from it: more items in flight than threads only queue.
 */
export const LIBUV_POOL_SIZE = Number(process.env.UV_THREADPOOL_SIZE) || 4;
