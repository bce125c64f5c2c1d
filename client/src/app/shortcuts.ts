/** Every keyboard shortcut, as data: the key handler and the help panel both read this list. */
export type ShortcutId =
  | 'run'
  | 'runSelected'
  | 'save'
  | 'open'
  | 'undo'
  | 'redo'
  | 'delete'
  | 'copy'
  | 'paste'
  | 'bypass'
  | 'selectAll'
  | 'group'
  | 'search'
  | 'help'
  | 'escape';

export type Shortcut = { id: ShortcutId; keys: string; description: string };

export const SHORTCUTS: Shortcut[] = [
  { id: 'run', keys: 'Ctrl+Enter', description: 'Run the workflow' },
  { id: 'runSelected', keys: 'Ctrl+Shift+Enter', description: 'Run only up to the selected output nodes' },
  { id: 'save', keys: 'Ctrl+S', description: 'Save to the server' },
  { id: 'open', keys: 'Ctrl+O', description: 'Open a workflow or template' },
  { id: 'undo', keys: 'Ctrl+Z', description: 'Undo' },
  { id: 'redo', keys: 'Ctrl+Shift+Z / Ctrl+Y', description: 'Redo' },
  { id: 'delete', keys: 'Delete / Backspace', description: 'Delete the selection' },
  { id: 'copy', keys: 'Ctrl+C', description: 'Copy the selected nodes (with their links)' },
  { id: 'paste', keys: 'Ctrl+V', description: 'Paste at the pointer' },
  { id: 'bypass', keys: 'Ctrl+B', description: 'Bypass / un-bypass the selected nodes' },
  { id: 'selectAll', keys: 'Ctrl+A', description: 'Select every node' },
  { id: 'group', keys: 'Ctrl+G', description: 'Group the selected nodes' },
  { id: 'search', keys: 'Double-click canvas / Ctrl+K', description: 'Search nodes to add' },
  { id: 'help', keys: '?', description: 'Show this help' },
  { id: 'escape', keys: 'Esc', description: 'Close dialogs and search' },
];

export type KeyLike = {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
};

/** Which shortcut a key press means, or null. `inField` is true while typing in an input. */
export function matchShortcut(e: KeyLike, inField: boolean): ShortcutId | null {
  const mod = e.ctrlKey || e.metaKey;
  const k = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  if (mod && k === 'Enter') return e.shiftKey ? 'runSelected' : 'run';
  if (mod && k === 's') return 'save';
  if (mod && k === 'o') return 'open';
  if (e.key === 'Escape') return 'escape';
  if (inField) return null;
  if (mod && k === 'z') return e.shiftKey ? 'redo' : 'undo';
  if (mod && k === 'y') return 'redo';
  if (mod && k === 'c') return 'copy';
  if (mod && k === 'v') return 'paste';
  if (mod && k === 'b') return 'bypass';
  if (mod && k === 'a') return 'selectAll';
  if (mod && k === 'g') return 'group';
  if (!mod && !e.altKey && (k === 'Delete' || k === 'Backspace')) return 'delete';
  if (!mod && !e.altKey && e.key === '?') return 'help';
  if (mod && k === 'k') return 'search';
  return null;
}
