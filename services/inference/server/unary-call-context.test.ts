import { EventEmitter } from 'node:events';
import { Metadata } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { Code, InfermeshError } from '../../../shared/errors/index.js';
import { UnaryCallContext } from './unary-call-context.js';

/** The two things the context reads of grpc-js's unary call: its `cancelled` flag and its 'cancelled' event. */
class FakeCall extends EventEmitter {
  cancelled = false;
  cancel(): void {
    this.cancelled = true;
    this.emit('cancelled', 'cancelled');
  }
}

describe('UnaryCallContext', () => {
  it('reads cancellation from the call, and listens for nothing until a signal is asked for', () => {
    const call = new FakeCall();
    const ctx = new UnaryCallContext(call, new Metadata(), Infinity, undefined);
    expect(ctx.cancelled.aborted).toBe(false);
    expect(call.listenerCount('cancelled')).toBe(0);
    call.cancel();
    expect(ctx.cancelled.aborted).toBe(true);
  });

  it('makes a signal on first read that aborts with CANCELLED when the client goes', () => {
    const call = new FakeCall();
    const ctx = new UnaryCallContext(call, new Metadata(), 123, undefined);
    const signal = ctx.signal;
    expect(ctx.signal).toBe(signal);
    expect(call.listenerCount('cancelled')).toBe(1);
    expect(signal.aborted).toBe(false);
    call.cancel();
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(InfermeshError);
    expect((signal.reason as InfermeshError).code).toBe(Code.CANCELLED);
    expect(ctx.deadlineMs).toBe(123);
  });

  it('gives an aborted signal when the client had already gone', () => {
    const call = new FakeCall();
    call.cancel();
    expect(new UnaryCallContext(call, new Metadata(), Infinity, undefined).signal.aborted).toBe(true);
  });

  it('aborts nothing once the call is answered (the stream closing afterwards is no cancellation)', () => {
    const call = new FakeCall();
    const ctx = new UnaryCallContext(call, new Metadata(), Infinity, undefined);
    const signal = ctx.signal;
    ctx.answered = true;
    call.cancel();
    expect(signal.aborted).toBe(false);
    expect(ctx.cancelled.aborted).toBe(false);
  });
});
