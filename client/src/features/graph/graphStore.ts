import {
  applyEdgeChanges,
  applyNodeChanges,
  type EdgeChange,
  type NodeChange,
  type XYPosition,
} from '@xyflow/react';
import { createStore } from 'zustand/vanilla';
import type { WorkflowMeta } from '../../../../server/workflow/schema.ts';
import { defaultParams, type NodeDefs } from '../../api/nodeDefs.ts';
import { canBypass } from './bypass.ts';
import { type ClipboardData, copySelection, pasteClipboard } from './clipboard.ts';
import { nextId } from './ids.ts';
import { inputsOf } from './sockets.ts';
import {
  type ConnectionLike,
  type FlowEdge,
  type FlowNode,
  type GroupFlowNode,
  isGroupNode,
  isWorkflowNode,
  type WorkflowFlowNode,
} from './types.ts';
import { type Validity, validateConnection } from './validateConnection.ts';

const HISTORY_LIMIT = 200;

type Snapshot = { nodes: FlowNode[]; edges: FlowEdge[]; revision: number };

export type GraphState = {
  nodes: FlowNode[];
  edges: FlowEdge[];
  meta: WorkflowMeta;
  /** Name under which the workflow is saved on the server, if any. */
  savedName: string | null;
  /** Bumped by every edit; compared with `savedRevision` for the unsaved-changes mark. */
  revision: number;
  savedRevision: number;
  past: Snapshot[];
  future: Snapshot[];
};

export type GraphActions = {
  onNodesChange(changes: NodeChange<FlowNode>[]): void;
  onEdgesChange(changes: EdgeChange<FlowEdge>[]): void;
  /** Adds a wire (replacing the wire already in a single input). Returns why it was refused, if it was. */
  connect(conn: ConnectionLike): Validity;
  addNode(type: string, position: XYPosition): string | null;
  addGroup(bounds: { x: number; y: number; width: number; height: number }, title?: string): string;
  setParam(nodeId: string, key: string, value: unknown): void;
  setParams(nodeId: string, params: Record<string, unknown>): void;
  setTitle(nodeId: string, title: string): void;
  toggleBypass(nodeIds?: string[]): void;
  deleteSelected(): void;
  selectOnly(ids: string[]): void;
  copy(): ClipboardData | null;
  paste(data: ClipboardData, at?: XYPosition): void;
  undo(): void;
  redo(): void;
  /** Replaces the whole graph (open, new). Clears history. */
  load(nodes: FlowNode[], edges: FlowEdge[], meta: WorkflowMeta, savedName: string | null): void;
  markSaved(name: string): void;
  setMeta(meta: Partial<WorkflowMeta>): void;
};

export type GraphStore = ReturnType<typeof createGraphStore>;

export function isDirty(s: GraphState): boolean {
  return s.revision !== s.savedRevision;
}

/**
 * The editor's graph: nodes, wires and groups, with undo/redo over every edit. It knows nothing about
 * execution state (that lives in the run feature's store) and nothing about React.
 */
export function createGraphStore(getDefs: () => NodeDefs) {
  let revisionCounter = 0;
  let lastCoalesceKey: string | null = null;
  let dragging = false;
  /** Nodes a dragged group carries along, with the group's start position. */
  let groupDrag: Map<string, { members: string[]; last: XYPosition }> = new Map();

  return createStore<GraphState & GraphActions>()((set, get) => {
    /** Records the current graph as an undo step, unless this edit continues the previous one. */
    const checkpoint = (coalesceKey: string | null = null) => {
      if (coalesceKey !== null && coalesceKey === lastCoalesceKey) return;
      lastCoalesceKey = coalesceKey;
      const s = get();
      const past = [...s.past, { nodes: s.nodes, edges: s.edges, revision: s.revision }];
      if (past.length > HISTORY_LIMIT) past.shift();
      set({ past, future: [] });
    };
    const bump = () => {
      revisionCounter += 1;
      return revisionCounter;
    };
    const edit = (coalesceKey: string | null, patch: Partial<GraphState>) => {
      checkpoint(coalesceKey);
      set({ ...patch, revision: bump() });
    };
    const updateNode = (id: string, fn: (n: WorkflowFlowNode) => WorkflowFlowNode) =>
      get().nodes.map((n) => (n.id === id && isWorkflowNode(n) ? fn(n) : n));

    return {
      nodes: [],
      edges: [],
      meta: { name: 'untitled', description: '', created_with: 'loraflow editor' },
      savedName: null,
      revision: 0,
      savedRevision: 0,
      past: [],
      future: [],

      onNodesChange(changes) {
        const s = get();
        let structural = false;
        let dragStart = false;
        for (const c of changes) {
          if (c.type === 'remove' || c.type === 'add' || c.type === 'replace') structural = true;
          if (c.type === 'position' && c.dragging && !dragging) dragStart = true;
          if (c.type === 'dimensions' && c.resizing) structural = true;
        }
        if (dragStart) {
          dragging = true;
          checkpoint();
          groupDrag = new Map();
          for (const c of changes) {
            if (c.type !== 'position') continue;
            const g = s.nodes.find((n) => n.id === c.id);
            if (g && isGroupNode(g))
              groupDrag.set(g.id, { members: groupMembers(g, s.nodes), last: g.position });
          }
        } else if (structural) {
          const first = changes[0];
          checkpoint(first?.type === 'dimensions' ? `resize:${first.id}` : null);
        }
        let nodes = applyNodeChanges(changes, s.nodes);
        // A group drags the nodes inside it along.
        for (const c of changes) {
          if (c.type !== 'position' || !c.position) continue;
          const gd = groupDrag.get(c.id);
          if (!gd) continue;
          const dx = c.position.x - gd.last.x;
          const dy = c.position.y - gd.last.y;
          gd.last = c.position;
          if (dx === 0 && dy === 0) continue;
          const members = new Set(
            gd.members.filter((m) => !changes.some((o) => o.type === 'position' && o.id === m)),
          );
          nodes = nodes.map((n) =>
            members.has(n.id) ? { ...n, position: { x: n.position.x + dx, y: n.position.y + dy } } : n,
          );
        }
        const dragEnd = changes.some((c) => c.type === 'position' && c.dragging === false);
        if (dragEnd) {
          dragging = false;
          groupDrag = new Map();
        }
        set(dragStart || structural ? { nodes, revision: bump() } : { nodes });
      },

      onEdgesChange(changes) {
        const s = get();
        if (changes.some((c) => c.type === 'remove' || c.type === 'add' || c.type === 'replace')) {
          edit(null, { edges: applyEdgeChanges(changes, s.edges) });
        } else {
          set({ edges: applyEdgeChanges(changes, s.edges) });
        }
      },

      connect(conn) {
        const s = get();
        const defs = getDefs();
        const verdict = validateConnection(conn, s.nodes, s.edges, defs);
        if (!verdict.ok) return verdict;
        const target = s.nodes.find((n) => n.id === conn.target) as WorkflowFlowNode;
        const input = inputsOf(target, defs, s.edges)[conn.targetHandle!];
        const kept = input?.list
          ? s.edges
          : s.edges.filter((e) => !(e.target === conn.target && e.targetHandle === conn.targetHandle));
        const edge: FlowEdge = {
          id: nextId(
            'l',
            s.edges.map((e) => e.id),
          ),
          source: conn.source!,
          target: conn.target!,
          sourceHandle: conn.sourceHandle!,
          targetHandle: conn.targetHandle!,
        };
        edit(null, { edges: [...kept, edge] });
        return { ok: true };
      },

      addNode(type, position) {
        const def = getDefs().byType[type];
        if (!def) return null;
        const s = get();
        const id = nextId(
          '',
          s.nodes.filter(isWorkflowNode).map((n) => n.id),
        );
        const node: WorkflowFlowNode = {
          id,
          type: 'workflow',
          position: { x: position.x, y: position.y },
          data: { type: def.type, version: def.version, params: defaultParams(def) },
        };
        edit(null, { nodes: [...s.nodes.map((n) => (n.selected ? { ...n, selected: false } : n)), node] });
        return id;
      },

      addGroup(bounds, title = 'Group') {
        const s = get();
        const id = nextId(
          'g',
          s.nodes.map((n) => n.id),
        );
        const group: GroupFlowNode = {
          id,
          type: 'group',
          position: { x: bounds.x, y: bounds.y },
          width: bounds.width,
          height: bounds.height,
          zIndex: -1,
          data: { title },
        };
        // Groups go first so that they render beneath nodes.
        edit(null, { nodes: [group, ...s.nodes] });
        return id;
      },

      setParam(nodeId, key, value) {
        edit(`param:${nodeId}:${key}`, {
          nodes: updateNode(nodeId, (n) => ({
            ...n,
            data: { ...n.data, params: { ...n.data.params, [key]: value } },
          })),
        });
      },

      setParams(nodeId, params) {
        edit(null, { nodes: updateNode(nodeId, (n) => ({ ...n, data: { ...n.data, params } })) });
      },

      setTitle(nodeId, title) {
        const s = get();
        edit(`title:${nodeId}`, {
          nodes: s.nodes.map((n) => {
            if (n.id !== nodeId) return n;
            if (isGroupNode(n)) return { ...n, data: { ...n.data, title } };
            const data = { ...n.data };
            if (title.trim() === '') delete data.title;
            else data.title = title;
            return { ...n, data };
          }),
        });
      },

      toggleBypass(nodeIds) {
        const s = get();
        const ids = new Set(nodeIds ?? s.nodes.filter((n) => n.selected).map((n) => n.id));
        const defs = getDefs();
        const targets = s.nodes.filter((n): n is WorkflowFlowNode => {
          if (!ids.has(n.id) || !isWorkflowNode(n)) return false;
          const def = defs.byType[n.data.type];
          // Un-bypassing is always allowed; bypassing only where a pass-through exists.
          return n.data.bypass === true || (def !== undefined && canBypass(def).ok);
        });
        if (targets.length === 0) return;
        const on = !targets.every((n) => n.data.bypass);
        const targetIds = new Set(targets.map((n) => n.id));
        edit(null, {
          nodes: s.nodes.map((n) => {
            if (!targetIds.has(n.id) || !isWorkflowNode(n)) return n;
            const data = { ...n.data };
            if (on) data.bypass = true;
            else delete data.bypass;
            return { ...n, data };
          }),
        });
      },

      deleteSelected() {
        const s = get();
        const ids = new Set(s.nodes.filter((n) => n.selected).map((n) => n.id));
        const edges = s.edges.filter((e) => !e.selected && !ids.has(e.source) && !ids.has(e.target));
        if (ids.size === 0 && edges.length === s.edges.length) return;
        edit(null, { nodes: s.nodes.filter((n) => !ids.has(n.id)), edges });
      },

      selectOnly(ids) {
        const want = new Set(ids);
        set({
          nodes: get().nodes.map((n) =>
            Boolean(n.selected) === want.has(n.id) ? n : { ...n, selected: want.has(n.id) },
          ),
          edges: get().edges.map((e) => (e.selected ? { ...e, selected: false } : e)),
        });
      },

      copy() {
        const s = get();
        return copySelection(s.nodes, s.edges);
      },

      paste(data, at) {
        const s = get();
        const pasted = pasteClipboard(data, s.nodes, s.edges, at);
        const groups = pasted.nodes.filter(isGroupNode);
        const others = pasted.nodes.filter((n) => !isGroupNode(n));
        edit(null, {
          nodes: [...groups, ...s.nodes.map((n) => (n.selected ? { ...n, selected: false } : n)), ...others],
          edges: [...s.edges, ...pasted.edges],
        });
      },

      undo() {
        const s = get();
        const prev = s.past[s.past.length - 1];
        if (!prev) return;
        lastCoalesceKey = null;
        set({
          nodes: prev.nodes,
          edges: prev.edges,
          revision: prev.revision,
          past: s.past.slice(0, -1),
          future: [{ nodes: s.nodes, edges: s.edges, revision: s.revision }, ...s.future],
        });
      },

      redo() {
        const s = get();
        const next = s.future[0];
        if (!next) return;
        lastCoalesceKey = null;
        set({
          nodes: next.nodes,
          edges: next.edges,
          revision: next.revision,
          past: [...s.past, { nodes: s.nodes, edges: s.edges, revision: s.revision }],
          future: s.future.slice(1),
        });
      },

      load(nodes, edges, meta, savedName) {
        lastCoalesceKey = null;
        const revision = bump();
        set({
          nodes,
          edges,
          meta,
          savedName,
          past: [],
          future: [],
          revision,
          savedRevision: savedName === null && nodes.length > 0 ? -1 : revision,
        });
      },

      markSaved(name) {
        set({ savedName: name, savedRevision: get().revision, meta: { ...get().meta, name } });
      },

      setMeta(meta) {
        edit('meta', { meta: { ...get().meta, ...meta } });
      },
    };
  });
}

/** Workflow nodes whose top-left corner lies inside the group's rectangle. */
export function groupMembers(group: GroupFlowNode, nodes: readonly FlowNode[]): string[] {
  const w = group.width ?? group.measured?.width ?? 0;
  const h = group.height ?? group.measured?.height ?? 0;
  const { x, y } = group.position;
  return nodes
    .filter(
      (n) =>
        isWorkflowNode(n) &&
        n.position.x >= x &&
        n.position.y >= y &&
        n.position.x <= x + w &&
        n.position.y <= y + h,
    )
    .map((n) => n.id);
}
