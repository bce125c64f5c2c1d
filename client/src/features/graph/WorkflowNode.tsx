import {
  Handle,
  type NodeProps,
  Position,
  type ReactFlowState,
  useStore as useFlowStore,
} from '@xyflow/react';
import { memo, useCallback, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { FALLBACK_SOCKET_COLOR, type NodeDef } from '../../api/nodeDefs.ts';
import { renderStats } from '../../app/renderStats.ts';
import { useUi } from '../../app/uiStore.ts';
import { useNodeProblems } from '../run/executionStore.ts';
import { NodeRunInfo, NodeStatusBadge } from '../run/NodeRunInfo.tsx';
import { ParamsForm } from '../widgets/ParamsForm.tsx';
import { canBypass } from './bypass.ts';
import { graphStore, useGraph } from './graphInstance.ts';
import { useNodeDefs } from './nodeDefsStore.ts';
import { inputsOf, outputsOf } from './sockets.ts';
import type { WorkflowFlowNode } from './types.ts';

/** Below this zoom, nodes drop their widgets (level of detail): text that small cannot be edited anyway. */
export const DETAIL_ZOOM = 0.3;
const lowDetail = (s: ReactFlowState) => s.transform[2] < DETAIL_ZOOM;

/** A workflow node: title bar, typed sockets, param widgets and its run state. */
export const WorkflowNode = memo(function WorkflowNode({ id, data, selected }: NodeProps<WorkflowFlowNode>) {
  renderStats.nodes += 1;
  const def = useNodeDefs((s) => s.defs.byType[data.type]);
  const onParam = useCallback(
    (key: string, value: unknown) => graphStore.getState().setParam(id, key, value),
    [id],
  );
  const problems = useNodeProblems(id);
  const far = useFlowStore(lowDetail);
  if (!def) return <PlaceholderNode id={id} data={data} selected={selected} />;
  const title = data.title ?? def.title;
  const nodeErrors = problems?.filter(
    (p) => !p.field || !(p.field.split('.')[0]! in (def.params.properties ?? {})),
  );
  return (
    <article
      className={`wf-node${far ? ' far' : ''}${selected ? ' selected' : ''}${data.bypass ? ' bypassed' : ''}${problems?.length ? ' has-problems' : ''}`}
      data-node-type={data.type}
      data-testid={`node-${id}`}
      aria-label={`${title} node`}
    >
      <NodeHeader id={id} title={title} def={def} bypass={data.bypass === true} />
      <Sockets def={def} />
      {far ? (
        <div className="far-hint" aria-hidden="true" />
      ) : (
        <ParamsForm nodeId={id} def={def} params={data.params} problems={problems} onChange={onParam} />
      )}
      {nodeErrors && nodeErrors.length > 0 && (
        <div className="node-problems" role="alert">
          {nodeErrors.map((p) => (
            <div key={`${p.field ?? ''}:${p.message}`}>
              {p.field ? `${p.field}: ${p.message}` : p.message}
            </div>
          ))}
        </div>
      )}
      <NodeRunInfo id={id} compact={far} />
    </article>
  );
});

function NodeHeader({
  id,
  title,
  def,
  bypass,
}: {
  id: string;
  title: string;
  def: NodeDef;
  bypass: boolean;
}) {
  const [editing, setEditing] = useState(false);
  const openDashboard = useUi((s) => s.openDashboard);
  const openDataset = useUi((s) => s.openDataset);
  const trains = def.heavy && Object.values(def.outputs).some((o) => o.type === 'LORA');
  const images = Object.values(def.outputs).some((o) => o.type === 'IMAGES');
  const bypassable = canBypass(def);
  return (
    <div className="wf-node-header" title={def.description}>
      {editing ? (
        <input
          className="wf-node-title nodrag"
          aria-label="Node title"
          defaultValue={title}
          ref={(el) => el?.select()}
          onBlur={(e) => {
            graphStore.getState().setTitle(id, e.target.value === def.title ? '' : e.target.value);
            setEditing(false);
          }}
          onKeyDown={(e) => {
            if (e.key === 'Enter') e.currentTarget.blur();
            if (e.key === 'Escape') setEditing(false);
          }}
        />
      ) : (
        // biome-ignore lint/a11y/noStaticElementInteractions: double-click renames, like ComfyUI; the title stays plain text for readers
        <span className="wf-node-title" title="Double-click to rename" onDoubleClick={() => setEditing(true)}>
          {title}
        </span>
      )}
      <NodeStatusBadge id={id} />
      {trains && (
        <button
          type="button"
          className="icon nodrag"
          aria-label="Open training dashboard"
          onClick={() => openDashboard(id)}
        >
          ∿
        </button>
      )}
      {images && (
        <button
          type="button"
          className="icon nodrag"
          aria-label="Open dataset view"
          onClick={() => openDataset(id)}
        >
          ▦
        </button>
      )}
      {(bypassable.ok || bypass) && (
        <button
          type="button"
          className={`icon nodrag${bypass ? ' on' : ''}`}
          aria-label={bypass ? 'Stop bypassing node' : 'Bypass node'}
          aria-pressed={bypass}
          title={bypassable.ok ? 'Bypass (Ctrl+B)' : `Cannot bypass: ${bypassable.reason}`}
          onClick={() => graphStore.getState().toggleBypass([id])}
        >
          ⤼
        </button>
      )}
    </div>
  );
}

const Sockets = memo(function Sockets({ def }: { def: NodeDef }) {
  const colors = useNodeDefs((s) => s.defs.sockets);
  const inputs = Object.entries(def.inputs);
  const outputs = Object.entries(def.outputs);
  const rows = Math.max(inputs.length, outputs.length);
  if (rows === 0) return null;
  return (
    <div className="sockets">
      {Array.from({ length: rows }, (_, i) => {
        const input = inputs[i];
        const output = outputs[i];
        return (
          // biome-ignore lint/suspicious/noArrayIndexKey: rows are positional pairs of sockets
          <div className="socket-row" key={i}>
            <div className="socket in">
              {input && (
                <>
                  <Handle
                    type="target"
                    position={Position.Left}
                    id={input[0]}
                    className={input[1].list ? 'list' : ''}
                    style={{ background: colors[input[1].type]?.color ?? FALLBACK_SOCKET_COLOR }}
                    aria-label={`input ${input[0]} (${input[1].type})`}
                    title={`${input[1].type}${input[1].list ? ' list' : ''}${input[1].optional ? ', optional' : ''}`}
                  />
                  <span className={input[1].optional ? 'optional' : ''}>{input[1].label ?? input[0]}</span>
                </>
              )}
            </div>
            <div className="socket out">
              {output && (
                <>
                  <span>{output[1].label ?? output[0]}</span>
                  <Handle
                    type="source"
                    position={Position.Right}
                    id={output[0]}
                    style={{ background: colors[output[1].type]?.color ?? FALLBACK_SOCKET_COLOR }}
                    aria-label={`output ${output[0]} (${output[1].type})`}
                    title={output[1].type}
                  />
                </>
              )}
            </div>
          </div>
        );
      })}
    </div>
  );
});

/** A node whose type this server does not know: shown, kept with its params and wires, never run. */
function PlaceholderNode({
  id,
  data,
  selected,
}: {
  id: string;
  data: WorkflowFlowNode['data'];
  selected: boolean;
}) {
  const edges = useGraph(useShallow((s) => s.edges.filter((e) => e.source === id || e.target === id)));
  const defs = useNodeDefs((s) => s.defs);
  const node = { id, data, position: { x: 0, y: 0 }, type: 'workflow' } as WorkflowFlowNode;
  const inputs = Object.keys(inputsOf(node, defs, edges));
  const outputs = Object.keys(outputsOf(node, defs, edges));
  return (
    <article
      className={`wf-node placeholder${selected ? ' selected' : ''}`}
      data-testid={`node-${id}`}
      aria-label={`Unknown node ${data.type}`}
    >
      <div className="wf-node-header">
        <span className="wf-node-title">⚠ {data.title ?? data.type}</span>
      </div>
      <div className="placeholder-body">
        Unknown node type <code>{data.type}</code> v{data.version}. Its params and wires are kept; install the
        node to run it.
      </div>
      <div className="sockets">
        {Array.from({ length: Math.max(inputs.length, outputs.length) }, (_, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: positional rows
          <div className="socket-row" key={i}>
            <div className="socket in">
              {inputs[i] && (
                <>
                  <Handle type="target" position={Position.Left} id={inputs[i]} isConnectable={false} />
                  <span>{inputs[i]}</span>
                </>
              )}
            </div>
            <div className="socket out">
              {outputs[i] && (
                <>
                  <span>{outputs[i]}</span>
                  <Handle type="source" position={Position.Right} id={outputs[i]} isConnectable={false} />
                </>
              )}
            </div>
          </div>
        ))}
      </div>
      <pre className="placeholder-params">{JSON.stringify(data.params, null, 1)}</pre>
    </article>
  );
}
