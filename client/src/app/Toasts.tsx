import { useUi } from './uiStore.ts';

/** Toasts: a refused wire's reason appears next to the pointer; everything else bottom-centre. */
export function Toasts() {
  const toasts = useUi((s) => s.toasts);
  const dismiss = useUi((s) => s.dismiss);
  return (
    <>
      {toasts.map((t, i) => (
        <div
          key={t.id}
          className={`toast ${t.kind}${t.at ? ' at-pointer' : ''}`}
          role={t.kind === 'error' ? 'alert' : 'status'}
          style={t.at ? { left: t.at.x + 14, top: t.at.y + 14 } : { bottom: 20 + i * 48 }}
        >
          <span>{t.message}</span>
          <button type="button" className="small" aria-label="Dismiss" onClick={() => dismiss(t.id)}>
            ×
          </button>
        </div>
      ))}
    </>
  );
}
