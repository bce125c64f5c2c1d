import { useEffect, useState } from 'react';
import { type DirEntry, hasExtension, listFiles } from './files.ts';
import type { RootKind } from './schemaToWidget.ts';

type Props = {
  id: string;
  value: string;
  mode: 'file' | 'folder';
  root: RootKind;
  extensions?: string[];
  invalid: boolean;
  onChange(value: string): void;
};

/** A path field with a browser over one of the server's configured roots (`GET /api/files`). */
export function PathPicker({ id, value, mode, root, extensions, invalid, onChange }: Props) {
  const [open, setOpen] = useState(false);
  return (
    <div className="path-picker">
      <div className="path-row">
        <input
          id={id}
          className="nodrag"
          type="text"
          value={value}
          aria-invalid={invalid}
          placeholder={`${mode} in ${root} root`}
          onChange={(e) => onChange(e.target.value)}
        />
        <button
          type="button"
          className="nodrag small"
          aria-label={`Browse ${root} ${mode}s`}
          onClick={() => setOpen((o) => !o)}
        >
          …
        </button>
      </div>
      {open && (
        <Browser
          root={root}
          mode={mode}
          extensions={extensions}
          start={mode === 'folder' ? value : parentOf(value)}
          onPick={(p) => {
            onChange(p);
            setOpen(false);
          }}
          onClose={() => setOpen(false)}
        />
      )}
    </div>
  );
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

function Browser(props: {
  root: RootKind;
  mode: 'file' | 'folder';
  extensions?: string[];
  start: string;
  onPick(path: string): void;
  onClose(): void;
}) {
  const [dir, setDir] = useState(props.start);
  const [entries, setEntries] = useState<DirEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const { root } = props;
  useEffect(() => {
    let live = true;
    setEntries(null);
    setError(null);
    listFiles(root, dir).then(
      (e) => live && setEntries(e),
      (err: unknown) => {
        if (!live) return;
        if (dir !== '') setDir('');
        else setError(err instanceof Error ? err.message : String(err));
      },
    );
    return () => {
      live = false;
    };
  }, [root, dir]);
  const shown = entries?.filter(
    (e) => e.type === 'dir' || (props.mode === 'file' && hasExtension(e.name, props.extensions)),
  );
  return (
    <div className="browser nodrag nowheel" role="dialog" aria-label={`Browse ${root} root`}>
      <div className="browser-head">
        <span className="crumb">{`${root}:/${dir}`}</span>
        <button type="button" className="small" aria-label="Close browser" onClick={props.onClose}>
          ×
        </button>
      </div>
      {error && <div className="error-text">{error}</div>}
      {!entries && !error && <div className="muted">Loading…</div>}
      <ul>
        {dir !== '' && (
          <li>
            <button type="button" onClick={() => setDir(parentOf(dir))}>
              ⬑ ..
            </button>
          </li>
        )}
        {shown?.map((e) => (
          <li key={e.path}>
            <button type="button" onClick={() => (e.type === 'dir' ? setDir(e.path) : props.onPick(e.path))}>
              {e.type === 'dir' ? '▸ ' : '· '}
              {e.name}
            </button>
          </li>
        ))}
        {shown && shown.length === 0 && <li className="muted">Empty</li>}
      </ul>
      {props.mode === 'folder' && (
        <button type="button" className="primary" onClick={() => props.onPick(dir)}>
          Use this folder
        </button>
      )}
    </div>
  );
}
