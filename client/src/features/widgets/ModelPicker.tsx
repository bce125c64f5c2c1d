import { useEffect, useState } from 'react';
import { findModels } from './files.ts';
import type { RootKind } from './schemaToWidget.ts';

type Props = {
  id: string;
  value: string;
  root: RootKind;
  extensions: string[];
  invalid: boolean;
  onChange(value: string): void;
};

const cache = new Map<string, Promise<string[]>>();

/** A select of the checkpoints (or LoRAs) found under the model roots; the current value stays listed. */
export function ModelPicker({ id, value, root, extensions, invalid, onChange }: Props) {
  const [models, setModels] = useState<string[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [reload, setReload] = useState(0);
  useEffect(() => {
    let live = true;
    const key = `${root}|${extensions.join(',')}`;
    if (reload > 0) cache.delete(key);
    let p = cache.get(key);
    if (!p) {
      p = findModels(root, extensions);
      cache.set(key, p);
      p.catch(() => cache.delete(key));
    }
    p.then(
      (m) => live && setModels(m),
      (err: unknown) => live && setError(err instanceof Error ? err.message : String(err)),
    );
    return () => {
      live = false;
    };
  }, [root, extensions, reload]);
  const options = models
    ? value && !models.includes(value)
      ? [value, ...models]
      : models
    : value
      ? [value]
      : [];
  return (
    <div className="path-row">
      <select
        id={id}
        className="nodrag"
        value={value}
        aria-invalid={invalid}
        onChange={(e) => onChange(e.target.value)}
      >
        <option value="">
          {models === null ? (error ? 'cannot list models' : 'loading…') : `— choose (${models.length}) —`}
        </option>
        {options.map((m) => (
          <option key={m} value={m}>
            {m}
          </option>
        ))}
      </select>
      <button
        type="button"
        className="nodrag small"
        aria-label="Refresh model list"
        onClick={() => setReload((r) => r + 1)}
      >
        ↻
      </button>
    </div>
  );
}
