import {
  Controls,
  type FinalConnectionState,
  type IsValidConnection,
  MiniMap,
  type NodeTypes,
  ReactFlow,
  useReactFlow,
} from '@xyflow/react';
import {
  type DragEvent,
  type MouseEvent as ReactMouseEvent,
  useCallback,
  useEffect,
  useMemo,
  useRef,
} from 'react';
import { useShallow } from 'zustand/react/shallow';
import { renderStats } from '../../app/renderStats.ts';
import { useUi } from '../../app/uiStore.ts';
import { DotGrid } from './DotGrid.tsx';
import { type EdgeStyleCache, styleEdges } from './edgeStyles.ts';
import { estimatedFit, FIT_OPTIONS } from './estimatedFit.ts';
import { GroupNode } from './GroupNode.tsx';
import { graphStore, useGraph } from './graphInstance.ts';
import { useNodeDefs } from './nodeDefsStore.ts';
import { PALETTE_MIME } from './Palette.tsx';
import { inputsOf, outputsOf } from './sockets.ts';
import { type FlowEdge, type FlowNode, isWorkflowNode } from './types.ts';
import { validateConnection } from './validateConnection.ts';
import { WorkflowNode } from './WorkflowNode.tsx';

/** Declared once at module scope so React Flow never remounts nodes. */
const nodeTypes: NodeTypes = { workflow: WorkflowNode, group: GroupNode };

const BIG_GRAPH = 120;
const NO_NODES: FlowNode[] = [];
const NO_EDGES: FlowEdge[] = [];

function pointerOf(event: MouseEvent | TouchEvent): { x: number; y: number } {
  if ('changedTouches' in event && event.changedTouches[0]) {
    return { x: event.changedTouches[0].clientX, y: event.changedTouches[0].clientY };
  }
  const m = event as MouseEvent;
  return { x: m.clientX, y: m.clientY };
}

type Props = { onDropFiles(files: File[], at: { x: number; y: number }): void };

export function Canvas({ onDropFiles }: Props) {
  renderStats.canvas += 1;
  const { nodes, edges, onNodesChange, onEdgesChange } = useGraph(
    useShallow((s) => ({
      nodes: s.nodes,
      edges: s.edges,
      onNodesChange: s.onNodesChange,
      onEdgesChange: s.onEdgesChange,
    })),
  );
  const defs = useNodeDefs((s) => s.defs);
  // Until the definitions arrive every node would render as an unknown-type placeholder, only to be
  // replaced (and measured again) a moment later: the canvas waits for them instead.
  const defsSettled = useNodeDefs((s) => s.status === 'ready' || s.status === 'error');
  const { screenToFlowPosition, fitView, setViewport } = useReactFlow<FlowNode>();
  const canvasRef = useRef<HTMLDivElement>(null);
  const fitRequest = useUi((s) => s.fitRequest);
  useEffect(() => {
    if (fitRequest === 0 || !defsSettled) return;
    const pane = canvasRef.current;
    const estimate = pane && estimatedFit(graphStore.getState().nodes, pane.clientWidth, pane.clientHeight);
    if (estimate) void setViewport(estimate);
    void fitView({ ...FIT_OPTIONS, duration: 0 });
  }, [fitRequest, defsSettled, fitView, setViewport]);

  const edgeStyles = useMemo<EdgeStyleCache>(() => new WeakMap(), []);
  const styledEdges = useMemo(
    () => styleEdges(edges, nodes, defs, edgeStyles),
    [edges, nodes, defs, edgeStyles],
  );

  const isValidConnection = useCallback<IsValidConnection>((c) => {
    const s = graphStore.getState();
    return validateConnection(c, s.nodes, s.edges, useNodeDefs.getState().defs).ok;
  }, []);

  const onConnect = useCallback((c: Parameters<IsValidConnection>[0]) => {
    const verdict = graphStore.getState().connect(c);
    if (!verdict.ok) useUi.getState().toast(verdict.reason);
  }, []);

  const onConnectEnd = useCallback(
    (event: MouseEvent | TouchEvent, state: FinalConnectionState) => {
      const at = pointerOf(event);
      const from = state.fromHandle;
      if (!from?.id) return;
      const s = graphStore.getState();
      const d = useNodeDefs.getState().defs;
      if (state.toHandle && !state.isValid) {
        const to = state.toHandle;
        const conn =
          from.type === 'source'
            ? { source: from.nodeId, sourceHandle: from.id, target: to.nodeId, targetHandle: to.id ?? null }
            : { source: to.nodeId, sourceHandle: to.id ?? null, target: from.nodeId, targetHandle: from.id };
        const verdict = validateConnection(conn, s.nodes, s.edges, d);
        if (!verdict.ok) useUi.getState().toast(verdict.reason, 'error', at);
        return;
      }
      if (state.toNode || state.isValid) return;
      const node = s.nodes.find((n) => n.id === from.nodeId);
      if (!node || !isWorkflowNode(node)) return;
      const side = from.type === 'source' ? 'output' : 'input';
      const spec =
        side === 'output' ? outputsOf(node, d, s.edges)[from.id] : inputsOf(node, d, s.edges)[from.id];
      if (!spec) return;
      useUi.getState().openSearch({
        screen: at,
        flow: screenToFlowPosition(at),
        wire: { nodeId: node.id, handle: from.id, type: spec.type, side },
      });
    },
    [screenToFlowPosition],
  );

  const onDoubleClick = useCallback(
    (e: ReactMouseEvent) => {
      if (!(e.target as HTMLElement).classList.contains('react-flow__pane')) return;
      const at = { x: e.clientX, y: e.clientY };
      useUi.getState().openSearch({ screen: at, flow: screenToFlowPosition(at) });
    },
    [screenToFlowPosition],
  );

  const onDragOver = useCallback((e: DragEvent) => {
    if (e.dataTransfer.types.includes(PALETTE_MIME) || e.dataTransfer.types.includes('Files')) {
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
    }
  }, []);

  const onDrop = useCallback(
    (e: DragEvent) => {
      const at = screenToFlowPosition({ x: e.clientX, y: e.clientY });
      const type = e.dataTransfer.getData(PALETTE_MIME);
      if (type) {
        e.preventDefault();
        graphStore.getState().addNode(type, at);
        return;
      }
      if (e.dataTransfer.files.length > 0) {
        e.preventDefault();
        onDropFiles([...e.dataTransfer.files], at);
      }
    },
    [screenToFlowPosition, onDropFiles],
  );

  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: a drop zone for palette nodes and workflow files
    <div
      className="canvas"
      ref={canvasRef}
      onDragOver={onDragOver}
      onDrop={onDrop}
      onDoubleClick={onDoubleClick}
      data-testid="canvas"
    >
      <ReactFlow<FlowNode>
        nodes={defsSettled ? nodes : NO_NODES}
        edges={defsSettled ? styledEdges : NO_EDGES}
        nodeTypes={nodeTypes}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onConnect={onConnect}
        onConnectEnd={onConnectEnd}
        isValidConnection={isValidConnection}
        zoomOnDoubleClick={false}
        deleteKeyCode={null}
        selectionKeyCode="Shift"
        multiSelectionKeyCode={['Meta', 'Control']}
        snapToGrid
        snapGrid={[10, 10]}
        onlyRenderVisibleElements={nodes.length > BIG_GRAPH}
        minZoom={0.1}
        maxZoom={2}
        proOptions={{ hideAttribution: true }}
        colorMode="dark"
        aria-label="Workflow canvas"
      >
        <DotGrid />
        <MiniMap
          pannable
          zoomable
          ariaLabel="Minimap"
          nodeColor={(n) => (n.type === 'group' ? '#ffffff22' : '#5c6bc0')}
        />
        <Controls aria-label="Zoom and fit view" />
      </ReactFlow>
    </div>
  );
}
