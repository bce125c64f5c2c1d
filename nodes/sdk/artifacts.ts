/** Content-addressed blob store (sha256). Implemented by server/store; nodes only see this interface. */
export interface ArtifactStore {
  /** Stores bytes atomically and returns their sha256. Storing the same bytes twice is a no-op. */
  put(data: Uint8Array, meta?: ArtifactMeta): Promise<string>;
  /** Moves (or copies) a finished file into the store and returns its sha256. The source is consumed. */
  putFile(path: string, meta?: ArtifactMeta): Promise<string>;
  /** Reads a blob, verifying its hash; a corrupt blob is evicted and an error thrown. */
  get(hash: string): Promise<Buffer>;
  has(hash: string): boolean;
  /** Absolute path of a stored blob (read only); not checked: prefer `verifiedPath` before reading it. */
  pathOf(hash: string): string;
  /**
   * Absolute path of a stored blob whose bytes were just hashed, for handing to a reader (the engine, sharp).
   * A corrupt or missing blob is evicted and an error thrown, so it is recomputed rather than used.
   */
  verifiedPath(hash: string): Promise<string>;
  meta(hash: string): ArtifactMeta | undefined;
  /** A fresh path inside the store's temp directory (same filesystem, so rename is atomic). */
  tempPath(suffix?: string): string;
}

export interface ArtifactMeta {
  contentType?: string;
  /** Free-form description, e.g. `latents 4x64x64` or an original file name. */
  label?: string;
}
