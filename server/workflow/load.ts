import type { NodeRegistry } from '../../nodes/sdk/registry.ts';
import { relateVersions } from '../../nodes/sdk/semver.ts';
import { migrateDocument } from './migrations.ts';
import type { NodeError } from './nodeErrors.ts';
import { WorkflowDocument, type WorkflowNode } from './schema.ts';
import { issuesToFields } from './zodIssues.ts';

export type MigratedNode = { nodeId: string; type: string; from: string; to: string };

export type LoadResult =
  | {
      ok: true;
      doc: WorkflowDocument;
      /** The format version the file was saved with (before document migration). */
      fromVersion: number;
      /** Ids of nodes whose type this registry does not know; they are kept exactly as saved. */
      placeholders: string[];
      /** Nodes whose params were upgraded by their definition's `migrate`. */
      migratedNodes: MigratedNode[];
      /** Per-node version problems (the node is left as saved; validation reports them too). */
      nodeErrors: NodeError[];
    }
  | { ok: false; errors: NodeError[] };

/**
 * Reads a workflow (JSON text or an already parsed value): migrates the document format, validates it and,
 * given a registry, upgrades node params saved with an older major version through the node's `migrate`.
 */
export function loadWorkflow(input: unknown, registry?: NodeRegistry): LoadResult {
  let raw = input;
  if (typeof input === 'string') {
    try {
      raw = JSON.parse(input);
    } catch (err) {
      return { ok: false, errors: [docError(`the file is not valid JSON: ${(err as Error).message}`)] };
    }
  }
  const migrated = migrateDocument(raw);
  if (!migrated.ok) return { ok: false, errors: [docError(migrated.reason)] };
  const parsed = WorkflowDocument.safeParse(migrated.doc);
  if (!parsed.success) {
    return {
      ok: false,
      errors: issuesToFields(parsed.error, migrated.doc).map(({ field, message }) => ({
        nodeId: nodeIdAt(migrated.doc, field),
        kind: 'document' as const,
        ...(field === '' ? {} : { field }),
        message,
      })),
    };
  }
  const doc = parsed.data;
  const placeholders: string[] = [];
  const migratedNodes: MigratedNode[] = [];
  const nodeErrors: NodeError[] = [];
  if (registry) {
    doc.nodes = doc.nodes.map((node) => {
      const def = registry.get(node.type);
      if (!def) {
        placeholders.push(node.id);
        return node;
      }
      const upgraded = upgradeNode(node, def.version, def.migrate);
      if (upgraded.ok) {
        if (upgraded.node !== node)
          migratedNodes.push({ nodeId: node.id, type: node.type, from: node.version, to: def.version });
        return upgraded.node;
      }
      nodeErrors.push({
        nodeId: node.id,
        nodeType: node.type,
        field: 'version',
        kind: 'node-version',
        message: upgraded.reason,
      });
      return node;
    });
  }
  return { ok: true, doc, fromVersion: migrated.fromVersion, placeholders, migratedNodes, nodeErrors };
}

type Migrate =
  | ((fromVersion: string, params: Record<string, unknown>) => Record<string, unknown>)
  | undefined;

/** Upgrades one node's params to `current`, or says why it cannot. Same-major nodes are returned as is. */
export function upgradeNode(
  node: WorkflowNode,
  current: string,
  migrate: Migrate,
): { ok: true; node: WorkflowNode } | { ok: false; reason: string } {
  const relation = relateVersions(node.version, current);
  switch (relation) {
    case 'compatible':
      return { ok: true, node };
    case 'newer-major':
      return {
        ok: false,
        reason: `saved with version ${node.version} of ${node.type}, newer than this loraflow's ${current}: update loraflow`,
      };
    case 'invalid':
      return { ok: false, reason: `version ${node.version} cannot be compared with ${current}` };
    case 'older-major': {
      if (!migrate) {
        return {
          ok: false,
          reason: `saved with version ${node.version} of ${node.type}, whose params are incompatible with ${current} and cannot be upgraded automatically: replace the node with a new one`,
        };
      }
      try {
        const params = migrate(node.version, structuredClone(node.params));
        return { ok: true, node: { ...node, version: current, params } };
      } catch (err) {
        return {
          ok: false,
          reason: `cannot upgrade from version ${node.version} to ${current}: ${(err as Error).message}`,
        };
      }
    }
    default: {
      const never: never = relation;
      throw new Error(`unhandled version relation ${String(never)}`);
    }
  }
}

/** Serialises a document for saving: stable two-space JSON with a trailing newline. */
export function serializeWorkflow(doc: WorkflowDocument): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

function docError(message: string): NodeError {
  return { nodeId: null, kind: 'document', message };
}

/** `nodes[3].position.x` → the id of node 3, so the editor can mark it. */
function nodeIdAt(doc: Record<string, unknown>, field: string): string | null {
  const m = /^nodes\[(\d+)\]/.exec(field);
  if (!m || !Array.isArray(doc.nodes)) return null;
  const id = (doc.nodes[Number(m[1])] as { id?: unknown } | undefined)?.id;
  return typeof id === 'string' ? id : null;
}
