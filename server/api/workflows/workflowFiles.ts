import { mkdir, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWriteFile } from './atomicWrite.ts';
import { workflowFileName } from './workflowName.ts';

export type WorkflowSource = 'template' | 'saved';

export type WorkflowListing = {
  name: string;
  source: WorkflowSource;
  /** Templates ship with loraflow and cannot be overwritten or deleted. */
  readOnly: boolean;
  title?: string;
  description?: string;
  size: number;
  modified: number;
};

export type ReadResult =
  | { ok: true; name: string; source: WorkflowSource; readOnly: boolean; text: string }
  | { ok: false; reason: 'not_found' };

export type WriteResult = { ok: true; modified: number } | { ok: false; reason: 'template' };
export type DeleteResult = { ok: true } | { ok: false; reason: 'template' | 'not_found' };

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

function metaOf(text: string): { title?: string; description?: string } {
  try {
    const doc = JSON.parse(text) as { meta?: { name?: unknown; description?: unknown } };
    const out: { title?: string; description?: string } = {};
    if (typeof doc.meta?.name === 'string') out.title = doc.meta.name;
    if (typeof doc.meta?.description === 'string') out.description = doc.meta.description;
    return out;
  } catch {
    return {};
  }
}

/** Two folders: read-only templates shipped with the package, and the user's saved workflows. Names are pre-validated. */
export class WorkflowFiles {
  constructor(
    readonly templatesDir: string,
    readonly savedDir: string,
  ) {}

  private async listDir(dir: string, source: WorkflowSource): Promise<WorkflowListing[]> {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return [];
    }
    const out: WorkflowListing[] = [];
    for (const file of names) {
      if (!file.endsWith('.json') || file.startsWith('.')) continue;
      const path = join(dir, file);
      try {
        const st = await stat(path);
        if (!st.isFile()) continue;
        const meta = st.size < 4 * 1024 * 1024 ? metaOf(await readFile(path, 'utf8')) : {};
        out.push({
          name: file.slice(0, -5),
          source,
          readOnly: source === 'template',
          ...meta,
          size: st.size,
          modified: Math.round(st.mtimeMs),
        });
      } catch {
        // A file deleted while listing is simply not listed.
      }
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  async list(): Promise<WorkflowListing[]> {
    return [
      ...(await this.listDir(this.templatesDir, 'template')),
      ...(await this.listDir(this.savedDir, 'saved')),
    ];
  }

  async isTemplate(name: string): Promise<boolean> {
    return exists(join(this.templatesDir, workflowFileName(name)));
  }

  /** Saved workflows first, then templates; `source` picks one. */
  async read(name: string, source?: WorkflowSource): Promise<ReadResult> {
    const order: WorkflowSource[] = source ? [source] : ['saved', 'template'];
    for (const s of order) {
      const path = join(s === 'saved' ? this.savedDir : this.templatesDir, workflowFileName(name));
      try {
        const text = await readFile(path, 'utf8');
        return { ok: true, name, source: s, readOnly: s === 'template', text };
      } catch {
        // try the next folder
      }
    }
    return { ok: false, reason: 'not_found' };
  }

  async write(name: string, text: string): Promise<WriteResult> {
    if (await this.isTemplate(name)) return { ok: false, reason: 'template' };
    await mkdir(this.savedDir, { recursive: true });
    const path = join(this.savedDir, workflowFileName(name));
    await atomicWriteFile(path, text);
    return { ok: true, modified: Math.round((await stat(path)).mtimeMs) };
  }

  async remove(name: string): Promise<DeleteResult> {
    const path = join(this.savedDir, workflowFileName(name));
    if (await exists(path)) {
      await unlink(path);
      return { ok: true };
    }
    if (await this.isTemplate(name)) return { ok: false, reason: 'template' };
    return { ok: false, reason: 'not_found' };
  }
}
