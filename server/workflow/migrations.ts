import { WORKFLOW_FORMAT, WORKFLOW_VERSION } from './schema.ts';

/**
 * Document-format migrations, one per version bump: `documentMigrations[n]` turns a version-n document into
 * version n+1. They work on plain JSON, before schema validation of the final version.
 */
type JsonObject = Record<string, unknown>;
export type DocumentMigration = (doc: JsonObject) => JsonObject;

/**
 * Version 0 was the pre-release format: a top-level `name`, nodes with `x`/`y` and an optional `version`,
 * and links as `[id, fromNode, fromOutput, toNode, toInput]` tuples.
 */
function v0ToV1(doc: JsonObject): JsonObject {
  const nodes = Array.isArray(doc.nodes) ? doc.nodes : [];
  const links = Array.isArray(doc.links) ? doc.links : [];
  return {
    format: WORKFLOW_FORMAT,
    version: 1,
    nodes: nodes.map((raw) => {
      if (raw === null || typeof raw !== 'object') return raw;
      const { x, y, version, ...rest } = raw as JsonObject;
      return { ...rest, version: version ?? '1.0.0', position: { x: x ?? 0, y: y ?? 0 } };
    }),
    links: links.map((l) =>
      Array.isArray(l) && l.length === 5
        ? { id: String(l[0]), from: { node: l[1], output: l[2] }, to: { node: l[3], input: l[4] } }
        : l,
    ),
    ...(doc.groups === undefined ? {} : { groups: doc.groups }),
    meta: {
      name: typeof doc.name === 'string' ? doc.name : 'Untitled',
      description: typeof doc.description === 'string' ? doc.description : '',
      created_with: 'loraflow (pre-release)',
    },
  };
}

export const documentMigrations: Readonly<Record<number, DocumentMigration>> = {
  0: v0ToV1,
};

export type MigrationResult =
  | { ok: true; doc: JsonObject; fromVersion: number }
  | { ok: false; reason: string };

/** Brings a parsed JSON document up to the current format version. */
export function migrateDocument(raw: unknown): MigrationResult {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, reason: 'a workflow must be a JSON object' };
  }
  let doc = raw as JsonObject;
  if (doc.format !== WORKFLOW_FORMAT) {
    return {
      ok: false,
      reason: `not a loraflow workflow: format is ${JSON.stringify(doc.format)}, expected "${WORKFLOW_FORMAT}"`,
    };
  }
  const fromVersion = doc.version ?? 0;
  if (typeof fromVersion !== 'number' || !Number.isInteger(fromVersion) || fromVersion < 0) {
    return { ok: false, reason: `version must be a whole number, got ${JSON.stringify(doc.version)}` };
  }
  if (fromVersion > WORKFLOW_VERSION) {
    return {
      ok: false,
      reason: `this workflow was saved by a newer loraflow (format version ${fromVersion}; this one reads up to ${WORKFLOW_VERSION}): update loraflow to open it`,
    };
  }
  for (let v = fromVersion; v < WORKFLOW_VERSION; v++) {
    const step = documentMigrations[v];
    if (!step) return { ok: false, reason: `no migration from workflow format version ${v}` };
    doc = step(doc);
  }
  return { ok: true, doc, fromVersion };
}
