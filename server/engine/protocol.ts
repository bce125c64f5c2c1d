/**
 * Wire format of `loraflow-engine serve` (NDJSON on stdin/stdout), as zod schemas. The C++ side is
 * native/src/protocol/server.h; keep both in sync. Every line the engine writes is validated here.
 */
import { z } from 'zod';

/** Request ids: the client uses strings; the engine echoes whatever it got (string or integer). */
export const RequestId = z.union([z.string(), z.number().int()]);
export type RequestId = z.infer<typeof RequestId>;

export const EngineRequest = z.object({
  id: RequestId,
  op: z.string().min(1),
  args: z.record(z.string(), z.unknown()),
});
export type EngineRequest = z.infer<typeof EngineRequest>;

/** Error codes the engine sends (native/src/protocol/errors.h), plus the client's own. */
export const ENGINE_ERROR_CODES = [
  'bad_request',
  'unknown_op',
  'bad_file',
  'unsupported',
  'not_found',
  'cancelled',
  'oom',
  'internal',
] as const;
export const CLIENT_ERROR_CODES = [
  'timeout',
  'engine_crashed',
  'engine_unavailable',
  'protocol_error',
] as const;
export type ErrorCode = (typeof ENGINE_ERROR_CODES)[number] | (typeof CLIENT_ERROR_CODES)[number];

const ReplyId = RequestId.nullable();

export const ProgressMessage = z.object({
  id: ReplyId,
  type: z.literal('progress'),
  value: z.number(),
  max: z.number(),
  text: z.string().optional(),
});
export const LogMessage = z.object({
  id: ReplyId,
  type: z.literal('log'),
  level: z.string(),
  message: z.string(),
});
export const EventMessage = z.object({
  id: ReplyId,
  type: z.literal('event'),
  data: z.record(z.string(), z.unknown()),
});
export const ResultMessage = z.object({
  id: ReplyId,
  type: z.literal('result'),
  result: z.unknown(),
});
export const ErrorBody = z.object({
  code: z.string(),
  message: z.string(),
  hint: z.string().optional(),
});
export const ErrorMessage = z.object({
  id: ReplyId,
  type: z.literal('error'),
  error: ErrorBody,
});

export const EngineMessage = z.discriminatedUnion('type', [
  ProgressMessage,
  LogMessage,
  EventMessage,
  ResultMessage,
  ErrorMessage,
]);
export type ProgressMessage = z.infer<typeof ProgressMessage>;
export type LogMessage = z.infer<typeof LogMessage>;
export type EventMessage = z.infer<typeof EventMessage>;
export type ResultMessage = z.infer<typeof ResultMessage>;
export type ErrorMessage = z.infer<typeof ErrorMessage>;
export type EngineMessage = z.infer<typeof EngineMessage>;

// ---- op results ----

export const CpuDevice = z.object({
  type: z.literal('cpu'),
  threads: z.number().int(),
  interop_threads: z.number().int().optional(),
  total_memory: z.number().optional(),
  available_memory: z.number().optional(),
});
export const CudaDevice = z.object({
  type: z.literal('cuda'),
  index: z.number().int(),
  name: z.string(),
  total_memory: z.number(),
  compute_capability: z.string().optional(),
});
export const HelloResult = z.object({
  engine_version: z.string(),
  libtorch_version: z.string(),
  cuda_available: z.boolean(),
  devices: z.array(z.discriminatedUnion('type', [CpuDevice, CudaDevice])),
  ops: z.array(z.string()),
});
export type HelloResult = z.infer<typeof HelloResult>;

export const CancelResult = z.object({ cancelled: z.boolean() });
export const SleepResult = z.object({ slept_ms: z.number() });

export const SafetensorsInfoResult = z.object({
  path: z.string(),
  file_size: z.number(),
  metadata: z.record(z.string(), z.string()),
  tensors: z.array(
    z.object({
      name: z.string(),
      dtype: z.string(),
      shape: z.array(z.number().int().nonnegative()),
      data_offsets: z.tuple([z.number(), z.number()]),
    }),
  ),
});
export type SafetensorsInfoResult = z.infer<typeof SafetensorsInfoResult>;

/** Parses one line from the engine; returns the message or a description of what is wrong with it. */
export function parseEngineLine(
  line: string,
): { ok: true; message: EngineMessage } | { ok: false; error: string; id?: RequestId } {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { ok: false, error: `not JSON: ${line.slice(0, 200)}` };
  }
  const r = EngineMessage.safeParse(raw);
  if (r.success) return { ok: true, message: r.data };
  const id = RequestId.safeParse((raw as { id?: unknown } | null)?.id);
  const error = `invalid message (${r.error.issues.map((i) => `${i.path.join('.') || '<root>'}: ${i.message}`).join('; ')}): ${line.slice(0, 200)}`;
  return id.success ? { ok: false, error, id: id.data } : { ok: false, error };
}
