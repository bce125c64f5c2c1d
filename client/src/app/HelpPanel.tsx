import { SHORTCUTS } from './shortcuts.ts';

export function HelpPanel({ onClose }: { onClose(): void }) {
  return (
    <aside className="side-panel" aria-label="Keyboard shortcuts">
      <header>
        <h2>Keyboard shortcuts</h2>
        <button type="button" className="small" aria-label="Close help" onClick={onClose}>
          ×
        </button>
      </header>
      <table className="shortcuts">
        <tbody>
          {SHORTCUTS.map((s) => (
            <tr key={s.id}>
              <td>
                <kbd>{s.keys}</kbd>
              </td>
              <td>{s.description}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Tips</h3>
      <ul className="tips">
        <li>Drop a wire in empty space to add a node that accepts it.</li>
        <li>Drop a workflow .json or a PNG with an embedded workflow onto the canvas to open it.</li>
        <li>Shift-drag to box-select; drag a group's title to move its nodes; hold Space and drag to pan.</li>
      </ul>
    </aside>
  );
}
