/**
 * Render counters read by the editor benchmark (`npm run bench:editor`) to prove that progress events do not
 * re-render the graph. Plain numbers: incrementing them costs nothing.
 */
export const renderStats = { canvas: 0 };

declare global {
  interface Window {
    __loraflowStats?: typeof renderStats;
  }
}

if (typeof window !== 'undefined') window.__loraflowStats = renderStats;
