import type { Tensor } from 'onnxruntime-node';
import { Code, InfermeshError, invalidArgument } from '../../../shared/errors/index.js';
import { pickOutputs, sliceOutputs } from './batch-assembly.js';
import type { TensorView } from '../execution/executor.js';

/** What output handling reads of a batched request. */
export interface OutputRequester {
  readonly rows: number;
  readonly request: { readonly outputNames: readonly string[] };
}

/**
 * The outputs the run must fetch for a batch: `all` when any request asked for
 * all (no names), else the union of the names asked for (the first request's
 * own list when every request shares it).
 */
export function fetchNames(entries: readonly OutputRequester[], all: readonly string[]): readonly string[] {
  const first = entries[0]!.request.outputNames;
  if (first.length === 0) return all;
  let names: Set<string> | undefined;
  for (const e of entries) {
    if (e.request.outputNames === first) continue;
    if (e.request.outputNames.length === 0) return all;
    names ??= new Set(first);
    for (const n of e.request.outputNames) names.add(n);
  }
  return names ? [...names] : first;
}

/**
 * Each request's outputs of a run, in the order of `entries`: a lone request
 * keeps the run's tensors, a batch's requests get views of their own rows
 * (see sliceOutputs). A request that named no outputs gets `all`.
 */
export function outputsPerRequest(outputs: Readonly<Record<string, Tensor>>, entries: readonly OutputRequester[], all: readonly string[]): Record<string, TensorView>[] {
  if (entries.length === 1) {
    const names = entries[0]!.request.outputNames;
    return [pickOutputs(outputs, names.length ? names : all)];
  }
  return sliceOutputs(outputs, entries, (i) => {
    const names = entries[i]!.request.outputNames;
    return names.length ? names : all;
  });
}

/** ORT's complaints about the feeds are the caller's mistake; anything else is the runtime's. */
export function runError(err: unknown): InfermeshError {
  const message = err instanceof Error ? err.message : String(err);
  if (/invalid dimensions|Unexpected input data type|invalid rank|input name|not a valid input/i.test(message)) {
    return invalidArgument(`the model rejected the inputs: ${message}`, err);
  }
  return new InfermeshError(Code.INTERNAL, `the model run failed: ${message}`, { cause: err });
}
