import { context as contextApi, type Context, type Span } from '@opentelemetry/api';

/**
 * Runs `fn` in `ctx` (which holds `span`), then ends the span through `end`
 * with the outcome: no error on success, the thrown value on failure (which
 * is rethrown). The one try/end/rethrow every span helper shares.
 */
export async function runInSpan<T>(span: Span, ctx: Context, fn: () => Promise<T> | T, end: (span: Span, err?: unknown) => void): Promise<T> {
  let result: T;
  try {
    result = await contextApi.with(ctx, fn);
  } catch (err) {
    end(span, err);
    throw err;
  }
  end(span);
  return result;
}
