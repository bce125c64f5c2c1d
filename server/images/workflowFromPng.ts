import { parseA1111Parameters } from '../../nodes/png/a1111.ts';
import { PngFormatError, readPngText } from '../../nodes/png/textChunks.ts';
import { WORKFLOW_KEYWORD } from '../../nodes/sample/samplePng.ts';
import { loadWorkflow } from '../workflow/load.ts';
import type { WorkflowDocument } from '../workflow/schema.ts';

/** The PNG text chunk keyword loraflow embeds its workflow under (Sample and Save Images). */
export const WORKFLOW_PNG_KEYWORD = WORKFLOW_KEYWORD;

export type PngGenerationInfo = {
  prompt: string;
  negativePrompt?: string;
  settings: Record<string, string | number>;
};

export type WorkflowFromPng =
  | {
      ok: true;
      workflow: WorkflowDocument;
      /** Format version the image was saved with (the workflow is migrated to the current one). */
      fromVersion: number;
      /** The A1111 `parameters` text of the image, when present. */
      parameters?: PngGenerationInfo;
    }
  | {
      ok: false;
      status: 400 | 415 | 422;
      code:
        | 'not_png'
        | 'corrupt_png'
        | 'no_workflow'
        | 'foreign_workflow'
        | 'corrupt_workflow'
        | 'invalid_workflow';
      message: string;
      details?: unknown;
    };

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Pulls the embedded loraflow workflow out of PNG bytes. Copes with PNGs from elsewhere: no text chunks, only
 * A1111 `parameters`, or a ComfyUI `workflow`/`prompt` pair each give a clear `ok: false` result.
 */
export function workflowFromPng(bytes: Uint8Array): WorkflowFromPng {
  if (bytes.length < 8 || !PNG_SIGNATURE.every((b, i) => bytes[i] === b)) {
    return {
      ok: false,
      status: 415,
      code: 'not_png',
      message: 'the file is not a PNG image (wrong signature)',
    };
  }
  let chunks: ReturnType<typeof readPngText>;
  try {
    chunks = readPngText(bytes);
  } catch (e) {
    if (!(e instanceof PngFormatError)) throw e;
    return { ok: false, status: 400, code: 'corrupt_png', message: `the PNG is damaged: ${e.message}` };
  }
  const text = (k: string) => chunks.find((c) => c.keyword === k)?.text;
  const paramsText = text('parameters');
  const parameters = paramsText !== undefined ? parseA1111Parameters(paramsText) : undefined;
  const embedded = text(WORKFLOW_PNG_KEYWORD);
  if (embedded === undefined) {
    if (text('workflow') !== undefined || text('prompt') !== undefined) {
      return {
        ok: false,
        status: 422,
        code: 'foreign_workflow',
        message:
          'this PNG carries a ComfyUI workflow, not a loraflow one; its nodes cannot be loaded here. Build the pipeline in loraflow and save an image from it.',
      };
    }
    const found = chunks.map((c) => c.keyword);
    return {
      ok: false,
      status: 422,
      code: 'no_workflow',
      message: parameters
        ? `this PNG has generation parameters (prompt "${truncate(parameters.prompt, 60)}") but no loraflow workflow; only images saved by loraflow can restore a pipeline`
        : `this PNG has no embedded loraflow workflow (text chunks: ${found.length ? found.join(', ') : 'none'}); only images saved by loraflow carry one`,
      ...(parameters ? { details: { parameters } } : {}),
    };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(embedded);
  } catch (e) {
    return {
      ok: false,
      status: 422,
      code: 'corrupt_workflow',
      message: `the embedded ${WORKFLOW_PNG_KEYWORD} text is not valid JSON (${(e as Error).message})`,
    };
  }
  const loaded = loadWorkflow(raw);
  if (!loaded.ok) {
    return {
      ok: false,
      status: 422,
      code: 'invalid_workflow',
      message: `the embedded workflow is not a valid loraflow workflow: ${loaded.errors[0]?.message ?? 'unknown problem'}`,
      details: { errors: loaded.errors },
    };
  }
  return {
    ok: true,
    workflow: loaded.doc,
    fromVersion: loaded.fromVersion,
    ...(parameters ? { parameters } : {}),
  };
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
