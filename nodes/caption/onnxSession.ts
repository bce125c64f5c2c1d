import ort from 'onnxruntime-node';

const sessions = new Map<string, Promise<ort.InferenceSession>>();
const MAX_SESSIONS = 2;

/** One onnxruntime session per model file content, kept across runs (the two most recent). */
export function cachedSession(path: string, hash: string): Promise<ort.InferenceSession> {
  const hit = sessions.get(hash);
  if (hit) {
    sessions.delete(hash);
    sessions.set(hash, hit);
    return hit;
  }
  const created = ort.InferenceSession.create(path, { graphOptimizationLevel: 'all' });
  created.catch(() => sessions.delete(hash));
  sessions.set(hash, created);
  while (sessions.size > MAX_SESSIONS) {
    const oldest = sessions.keys().next().value as string;
    const s = sessions.get(oldest);
    sessions.delete(oldest);
    void s?.then((x) => x.release()).catch(() => {});
  }
  return created;
}

export { ort };
