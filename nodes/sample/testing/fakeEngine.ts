import { writeFile } from 'node:fs/promises';
import type { EngineRequestOptions, SamplingEngine } from '../engine.ts';

/**
 * Test double of the native engine for the sampling nodes: `load_model` and `sample` with the real reply
 * shapes, images whose pixels are a function of (seed, prompt) written as a real U8 [N,H,W,3] safetensors
 * file, progress per step and one preview event per step. Records every call.
 */
export class FakeSamplingEngine implements SamplingEngine {
  readonly calls: { op: string; args: Record<string, unknown> }[] = [];
  /** Abort the given controller when the n-th `sample` call starts (simulates an interrupted run). */
  abortOnSample?: { call: number; controller: AbortController };

  get sampleCalls(): Record<string, unknown>[] {
    return this.calls.filter((c) => c.op === 'sample').map((c) => c.args);
  }

  async request(
    op: string,
    args: Record<string, unknown>,
    options: EngineRequestOptions = {},
  ): Promise<unknown> {
    this.calls.push({ op, args });
    if (options.signal?.aborted) throw new Error(`${op} was cancelled`);
    if (op === 'load_model') return { model_id: 'sd1-fake', arch: 'sd1', config: {} };
    if (op !== 'sample') throw new Error(`fake engine: unknown op ${op}`);
    const n = this.sampleCalls.length;
    if (this.abortOnSample && this.abortOnSample.call === n) {
      this.abortOnSample.controller.abort();
      throw new Error('sample was cancelled');
    }
    const prompts = args.prompts as string[];
    const batch = args.batch_count as number;
    const width = args.width as number;
    const height = args.height as number;
    const steps = args.steps as number;
    const seeds =
      (args.seeds as number[] | undefined) ??
      prompts.flatMap((_, p) =>
        Array.from({ length: batch }, (_, b) => (args.seed as number) + p * batch + b),
      );
    const count = prompts.length * batch;
    for (let s = 1; s <= steps; s++) {
      options.onProgress?.({ value: s, max: steps + 1, text: `step ${s}/${steps}` });
      if ((args.preview_every as number) > 0)
        options.onEvent?.({
          type: 'sample.preview',
          image: 0,
          step: s,
          steps,
          width: 2,
          height: 2,
          format: 'rgb8',
          data: Buffer.alloc(12, s).toString('base64'),
        });
    }
    const size = width * height * 3;
    const data = Buffer.alloc(count * size);
    for (let i = 0; i < count; i++)
      data.fill((seeds[i]! * 37 + Math.floor(i / batch) * 11) % 256, i * size, (i + 1) * size);
    const header = Buffer.from(
      JSON.stringify({
        images: { dtype: 'U8', shape: [count, height, width, 3], data_offsets: [0, data.length] },
      }),
    );
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    await writeFile(args.out as string, Buffer.concat([len, header, data]));
    options.onProgress?.({ value: steps + 1, max: steps + 1, text: 'done' });
    return {
      path: args.out,
      shape: [count, height, width, 3],
      seeds,
      prompt_index: Array.from({ length: count }, (_, i) => Math.floor(i / batch)),
      sampler: args.sampler,
      sampler_label: 'Euler a',
      scheduler: 'normal',
      eta: 0,
      prediction: args.prediction,
      loras: ((args.loras as { path: string }[]) ?? []).map((l) => ({ path: l.path, unmatched_keys: 0 })),
      seconds: 0.01,
    };
  }
}
