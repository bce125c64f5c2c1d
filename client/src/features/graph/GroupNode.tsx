import { type NodeProps, NodeResizer } from '@xyflow/react';
import { memo, useState } from 'react';
import { graphStore } from './graphInstance.ts';
import type { GroupFlowNode } from './types.ts';

/** A titled rectangle behind nodes; dragging it moves the nodes inside. Double-click the title to rename. */
export const GroupNode = memo(function GroupNode({ id, data, selected }: NodeProps<GroupFlowNode>) {
  const [editing, setEditing] = useState(false);
  return (
    <div
      className="group-node"
      style={data.color ? { borderColor: data.color, background: `${data.color}22` } : undefined}
    >
      <NodeResizer isVisible={selected} minWidth={160} minHeight={100} />
      {editing ? (
        <input
          className="group-title nodrag"
          aria-label="Group title"
          defaultValue={data.title}
          // biome-ignore lint/a11y/noAutofocus: the field appears because the user asked to rename
          autoFocus
          onBlur={(e) => {
            graphStore.getState().setTitle(id, e.target.value || 'Group');
            setEditing(false);
          }}
          onKeyDown={(e) => {
            if (e.key === 'Enter' || e.key === 'Escape') (e.target as HTMLInputElement).blur();
          }}
        />
      ) : (
        <button
          type="button"
          className="group-title"
          aria-label={`Group ${data.title}, double-click to rename`}
          onDoubleClick={() => setEditing(true)}
        >
          {data.title}
        </button>
      )}
    </div>
  );
});
