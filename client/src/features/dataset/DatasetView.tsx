import { useMemo, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { tagFrequencies } from '../../../../nodes/caption/tags.ts';
import { useUi } from '../../app/uiStore.ts';
import { graphStore, useGraph } from '../graph/graphInstance.ts';
import { useNodeDefs } from '../graph/nodeDefsStore.ts';
import { useExecution } from '../run/executionStore.ts';
import { extractPreviews, type PreviewImage, previewSrc } from '../run/previews.ts';
import {
  captionEditDefs,
  findCaptionEditNode,
  OVERRIDES_PARAM,
  overridesOf,
  withOverride,
} from './captionOverrides.ts';

/**
 * The images flowing out of a dataset node, with captions editable in place. Edits become per-image
 * overrides (keyed by image hash) in a Caption Edit node's params, so they travel with the workflow.
 */
export function DatasetView({ nodeId }: { nodeId: string }) {
  const close = () => useUi.getState().openDataset(null);
  const display = useExecution((s) => s.nodes[nodeId]?.display);
  const defs = useNodeDefs((s) => s.defs);
  const { nodes, edges } = useGraph(useShallow((s) => ({ nodes: s.nodes, edges: s.edges })));
  const editNode = findCaptionEditNode(nodeId, nodes, edges, defs);
  const overrides = overridesOf(editNode);
  const images = useMemo(() => extractPreviews(display, Number.POSITIVE_INFINITY).images, [display]);
  const [onlyUncaptioned, setOnlyUncaptioned] = useState(false);
  const captionOf = (img: PreviewImage) => overrides[img.itemHash ?? img.hash] ?? img.caption ?? '';
  const captions = images.map(captionOf);
  const tags = tagFrequencies(captions);
  const uncaptioned = captions.filter((c) => c.trim() === '').length;
  const shown = images.filter((img) => !onlyUncaptioned || captionOf(img).trim() === '');
  const editDef = captionEditDefs(defs)[0];

  const addEditNode = () => {
    if (!editDef) return;
    const g = graphStore.getState();
    const src = g.nodes.find((n) => n.id === nodeId);
    const at = src ? { x: src.position.x + 320, y: src.position.y + 40 } : { x: 0, y: 0 };
    const id = g.addNode(editDef.type, at);
    const out = Object.entries(
      defs.byType[(src?.type === 'workflow' && src.data.type) || '']?.outputs ?? {},
    ).find(([, o]) => o.type === 'IMAGES')?.[0];
    const input = Object.entries(editDef.inputs).find(([, i]) => i.type === 'IMAGES')?.[0];
    if (id && out && input) g.connect({ source: nodeId, sourceHandle: out, target: id, targetHandle: input });
  };

  const edit = (img: PreviewImage, caption: string) => {
    if (!editNode) return;
    const key = img.itemHash ?? img.hash;
    graphStore
      .getState()
      .setParam(editNode.id, OVERRIDES_PARAM, withOverride(overrides, key, caption, img.caption ?? ''));
  };

  return (
    <div className="modal-backdrop">
      <div className="modal dataset" role="dialog" aria-modal="true" aria-label="Dataset view">
        <header>
          <h2>Dataset — {images.length} images</h2>
          <button type="button" className="small" aria-label="Close dataset view" onClick={close}>
            ×
          </button>
        </header>
        {images.length === 0 && <div className="muted">Run the workflow to see this node's images.</div>}
        {images.length > 0 && (
          <div className="dataset-bar">
            <span className={uncaptioned > 0 ? 'error-text' : 'muted'}>{uncaptioned} without caption</span>
            <label>
              <input
                type="checkbox"
                checked={onlyUncaptioned}
                onChange={(e) => setOnlyUncaptioned(e.target.checked)}
              />{' '}
              Only those
            </label>
            {editNode ? (
              <span className="muted">
                Edits are saved in “{editNode.data.title ?? defs.byType[editNode.data.type]?.title}” (
                {Object.keys(overrides).length} overrides)
              </span>
            ) : editDef ? (
              <button type="button" onClick={addEditNode}>
                Add “{editDef.title}” to edit captions
              </button>
            ) : (
              <span className="muted">No caption edit node is installed; captions are read-only.</span>
            )}
          </div>
        )}
        <div className="dataset-body">
          <div className="dataset-grid">
            {shown.map((img) => (
              <figure key={img.hash} className="ds-item">
                <img src={previewSrc(img)} alt={captionOf(img) || 'image without caption'} loading="lazy" />
                <textarea
                  aria-label={`Caption of ${img.label ?? img.hash.slice(0, 8)}`}
                  readOnly={!editNode}
                  value={captionOf(img)}
                  placeholder="(no caption)"
                  className={captionOf(img).trim() === '' ? 'uncaptioned' : ''}
                  onChange={(e) => edit(img, e.target.value)}
                />
                {img.label && <figcaption className="muted">{img.label}</figcaption>}
              </figure>
            ))}
          </div>
          {tags.length > 0 && (
            <aside className="tag-freq" aria-label="Tag frequency">
              <h3>Tags</h3>
              <ol>
                {tags.slice(0, 60).map((t) => (
                  <li key={t.tag}>
                    <span>{t.tag}</span>
                    <span className="muted">{t.count}</span>
                  </li>
                ))}
              </ol>
            </aside>
          )}
        </div>
      </div>
    </div>
  );
}
