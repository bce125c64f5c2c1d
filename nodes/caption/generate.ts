/**
 * Token generation for encoder-decoder captioners (BLIP), over a `step` function that returns the next-token
 * logits of each sequence. Greedy, or beam search as Hugging Face's `generate` does it: per step keep the
 * 2·beams best continuations by summed log-probability, finished hypotheses scored by
 * sum_logprobs / generated_length^lengthPenalty, stop when `beams` hypotheses are done and no live beam can
 * beat the worst of them. EOS is forbidden until `minNewTokens` tokens exist.
 */
export interface GenerateOptions {
  bos: number;
  eos: number;
  minNewTokens: number;
  maxNewTokens: number;
  numBeams: number;
  lengthPenalty?: number;
  signal?: AbortSignal;
}

/** Next-token logits (length = vocabulary) for each given sequence. */
export type StepFn = (sequences: number[][]) => Promise<Float32Array[]>;

function logSoftmax(logits: Float32Array, forbid: number | undefined): Float64Array {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) if (i !== forbid && logits[i]! > max) max = logits[i]!;
  let sum = 0;
  for (let i = 0; i < logits.length; i++) if (i !== forbid) sum += Math.exp(logits[i]! - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = i === forbid ? Number.NEGATIVE_INFINITY : logits[i]! - lse;
  return out;
}

/** Returns the generated tokens (without BOS, without EOS). */
export async function generateTokens(step: StepFn, o: GenerateOptions): Promise<number[]> {
  if (o.numBeams <= 1) return greedy(step, o);
  return beamSearch(step, o);
}

async function greedy(step: StepFn, o: GenerateOptions): Promise<number[]> {
  const seq = [o.bos];
  while (seq.length - 1 < o.maxNewTokens) {
    o.signal?.throwIfAborted();
    const [logits] = await step([seq]);
    if (!logits) throw new Error('the decoder returned no logits');
    const forbid = seq.length - 1 < o.minNewTokens ? o.eos : undefined;
    let best = -1;
    let bestValue = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < logits.length; i++) {
      if (i !== forbid && logits[i]! > bestValue) {
        best = i;
        bestValue = logits[i]!;
      }
    }
    if (best === o.eos) break;
    seq.push(best);
  }
  return seq.slice(1);
}

type Beam = { tokens: number[]; logp: number };

async function beamSearch(step: StepFn, o: GenerateOptions): Promise<number[]> {
  const k = o.numBeams;
  const lp = o.lengthPenalty ?? 1;
  const score = (logp: number, len: number) => logp / Math.max(1, len) ** lp;
  let beams: Beam[] = [{ tokens: [o.bos], logp: 0 }];
  const done: { tokens: number[]; score: number }[] = [];
  while (beams.length > 0) {
    o.signal?.throwIfAborted();
    const generated = beams[0]!.tokens.length - 1;
    if (generated >= o.maxNewTokens) break;
    const logits = await step(beams.map((b) => b.tokens));
    const forbid = generated < o.minNewTokens ? o.eos : undefined;
    const candidates: { beam: Beam; token: number; logp: number }[] = [];
    for (const [bi, beam] of beams.entries()) {
      const l = logits[bi];
      if (!l) throw new Error('the decoder returned fewer rows than beams');
      const lsm = logSoftmax(l, forbid);
      // Only the 2k best tokens of each beam can make the overall top 2k.
      const top = [...lsm.keys()].sort((a, b) => lsm[b]! - lsm[a]!).slice(0, 2 * k);
      for (const t of top) candidates.push({ beam, token: t, logp: beam.logp + lsm[t]! });
    }
    candidates.sort((a, b) => b.logp - a.logp);
    const next: Beam[] = [];
    for (const c of candidates.slice(0, 2 * k)) {
      if (c.token === o.eos) {
        // The finished length counts the EOS token, as Hugging Face does.
        done.push({ tokens: c.beam.tokens.slice(1), score: score(c.logp, generated + 1) });
      } else if (next.length < k) {
        next.push({ tokens: [...c.beam.tokens, c.token], logp: c.logp });
      }
      if (next.length >= k && done.length >= k) break;
    }
    done.sort((a, b) => b.score - a.score);
    done.splice(k);
    beams = next;
    if (done.length >= k && beams.length > 0) {
      const bestLive = score(beams[0]!.logp, generated + 1);
      if (bestLive <= done[done.length - 1]!.score) break;
    }
  }
  for (const b of beams) done.push({ tokens: b.tokens.slice(1), score: score(b.logp, b.tokens.length - 1) });
  done.sort((a, b) => b.score - a.score);
  return done[0]?.tokens ?? [];
}
