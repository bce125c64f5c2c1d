import type { Readable } from 'node:stream';
import busboy from 'busboy';
import { type Request, type Response, Router } from 'express';
import { z } from 'zod';
import { sendError } from '../api/http/errors.ts';
import { type WorkflowFromPng, workflowFromPng } from './workflowFromPng.ts';

/** Largest PNG accepted (bytes). Workflow PNGs are a few MB at most; 64 MiB leaves room for 4K images. */
export const FROM_IMAGE_MAX_BYTES = 64 * 1024 * 1024;

/** The 200 response of `POST /api/workflows/from-image`. */
export const FromImageResponse = z.object({
  workflow: z.record(z.string(), z.unknown()),
  fromVersion: z.number().int(),
  parameters: z
    .object({
      prompt: z.string(),
      negativePrompt: z.string().optional(),
      settings: z.record(z.string(), z.union([z.string(), z.number()])),
    })
    .optional(),
});
export type FromImageResponse = z.infer<typeof FromImageResponse>;

type Body = { ok: true; data: Buffer } | { ok: false; status: number; code: string; message: string };

function readLimited(stream: Readable, max: number): Promise<Body> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let done = false;
    const finish = (b: Body) => {
      if (done) return;
      done = true;
      resolve(b);
    };
    stream.on('data', (c: Buffer) => {
      total += c.length;
      if (total > max) {
        finish({
          ok: false,
          status: 413,
          code: 'body_too_large',
          message: `the image is larger than the ${max} byte limit`,
        });
        stream.resume();
        return;
      }
      chunks.push(c);
    });
    stream.on('end', () => finish({ ok: true, data: Buffer.concat(chunks) }));
    stream.on('error', (e) =>
      finish({ ok: false, status: 400, code: 'bad_body', message: `could not read the body: ${e.message}` }),
    );
  });
}

/** The first file of a multipart body. */
function readMultipart(req: Request, max: number): Promise<Body> {
  return new Promise((resolve) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers: req.headers, limits: { files: 1, fileSize: max } });
    } catch (e) {
      resolve({
        ok: false,
        status: 400,
        code: 'bad_multipart',
        message: `bad multipart request: ${(e as Error).message}`,
      });
      return;
    }
    let result: Promise<Body> | undefined;
    let truncated = false;
    bb.on('file', (_field, stream) => {
      if (result) {
        stream.resume();
        return;
      }
      stream.on('limit', () => {
        truncated = true;
      });
      result = readLimited(stream, max + 1);
    });
    bb.on('error', (e) =>
      resolve({
        ok: false,
        status: 400,
        code: 'bad_multipart',
        message: `bad multipart body: ${(e as Error).message}`,
      }),
    );
    bb.on('close', () => {
      if (!result) {
        resolve({
          ok: false,
          status: 400,
          code: 'no_file',
          message: 'the multipart body has no file; attach the PNG as a file field',
        });
        return;
      }
      void result.then((b) =>
        resolve(
          truncated
            ? {
                ok: false,
                status: 413,
                code: 'body_too_large',
                message: `the image is larger than the ${max} byte limit`,
              }
            : b,
        ),
      );
    });
    req.pipe(bb);
  });
}

/**
 * `POST /api/workflows/from-image`: the body is a PNG (`image/png` or `application/octet-stream`) or a
 * multipart form with the PNG as its first file. Answers `{workflow, fromVersion, parameters?}`, or a JSON
 * error: 413 too large, 415 not a PNG, 400 damaged, 422 no / foreign / invalid embedded workflow.
 */
export function fromImageRouter(options: { maxBytes?: number } = {}): Router {
  const max = options.maxBytes ?? FROM_IMAGE_MAX_BYTES;
  const router = Router();
  router.post('/api/workflows/from-image', async (req: Request, res: Response) => {
    const type = (req.headers['content-type'] ?? '').toLowerCase();
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > max + 64 * 1024) {
      sendError(res, 413, 'body_too_large', `the image is larger than the ${max} byte limit`);
      req.resume();
      return;
    }
    let body: Body;
    if (type.startsWith('multipart/form-data')) body = await readMultipart(req, max);
    else if (type === '' || type.startsWith('image/png') || type.startsWith('application/octet-stream'))
      body = await readLimited(req, max);
    else {
      sendError(
        res,
        415,
        'unsupported_media_type',
        `send the PNG as image/png, application/octet-stream or multipart/form-data (got ${type})`,
      );
      req.resume();
      return;
    }
    if (!body.ok) {
      sendError(res, body.status, body.code, body.message);
      return;
    }
    if (body.data.length === 0) {
      sendError(res, 400, 'empty_body', 'the request body is empty; send the PNG bytes');
      return;
    }
    const r: WorkflowFromPng = workflowFromPng(body.data);
    if (!r.ok) {
      sendError(res, r.status, r.code, r.message, r.details);
      return;
    }
    const out: FromImageResponse = FromImageResponse.parse({
      workflow: r.workflow,
      fromVersion: r.fromVersion,
      ...(r.parameters ? { parameters: r.parameters } : {}),
    });
    res.json(out);
  });
  return router;
}
