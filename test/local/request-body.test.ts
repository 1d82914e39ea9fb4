// A chunked body read whole before the integration is called (scripts/local/gateway/
// request-body.ts), over a request the test feeds: complete at exactly the quota, refused one
// byte past it; the bytes held counted against a budget shared by all requests, a request
// paused while the budget is spent and resumed once it is free again, in order; and nothing
// left held when a body is refused, sent on, or abandoned by its client.
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import {
  BodyBudget,
  HELD_BODIES_MAX_BYTES,
  readWholeBody,
} from '../../scripts/local/gateway/request-body.ts';

/** A request whose body the test sends, chunk by chunk. */
class FedRequest extends EventEmitter {
  complete = false;
  paused = false;
  pause() {
    this.paused = true;
    return this;
  }
  resume() {
    this.paused = false;
    return this;
  }
  send(text: string) {
    this.emit('data', Buffer.from(text));
  }
  end() {
    this.complete = true;
    this.emit('end');
    this.emit('close');
  }
  abandon() {
    this.emit('close');
  }
}

function read(limit: number, budget = new BodyBudget(1_000)) {
  const req = new FedRequest();
  const outcome: { body?: string; release?: () => void; tooLarge: number } = { tooLarge: 0 };
  readWholeBody(req as unknown as IncomingMessage, limit, budget, {
    complete: (body, release) => {
      outcome.body = body.toString();
      outcome.release = release;
    },
    tooLarge: () => {
      outcome.tooLarge++;
    },
  });
  return { req, outcome, budget };
}

describe('a chunked body', () => {
  it('of exactly the quota arrives whole, its bytes held until released', () => {
    const { req, outcome, budget } = read(6);
    req.send('abc');
    req.send('def');
    expect(budget.heldBytes).toBe(6);
    req.end();
    expect(outcome.body).toBe('abcdef');
    expect(budget.heldBytes).toBe(6);
    outcome.release?.();
    expect(budget.heldBytes).toBe(0);
    outcome.release?.();
    expect(budget.heldBytes).toBe(0);
  });

  it('one byte past the quota is refused at once, nothing left held, the rest not read', () => {
    const { req, outcome, budget } = read(6);
    req.send('abc');
    req.send('defg');
    expect(outcome.tooLarge).toBe(1);
    expect(budget.heldBytes).toBe(0);
    // What follows is the caller's to read: this reader has stopped listening.
    req.send('more');
    req.end();
    expect(outcome.tooLarge).toBe(1);
    expect(outcome.body).toBeUndefined();
    expect(req.listenerCount('data') + req.listenerCount('end') + req.listenerCount('close')).toBe(
      0,
    );
  });

  it('abandoned by its client is dropped, its bytes released', () => {
    const { req, outcome, budget } = read(100);
    req.send('abc');
    req.abandon();
    expect(budget.heldBytes).toBe(0);
    req.emit('end');
    expect(outcome.body).toBeUndefined();
    expect(req.listenerCount('data')).toBe(0);
  });

  it('that is empty arrives as an empty body', () => {
    const { req, outcome } = read(0);
    req.end();
    expect(outcome.body).toBe('');
  });
});

describe('the budget of held bodies', () => {
  it('pauses a request once the bytes held pass it, and resumes it when they are back under', () => {
    const budget = new BodyBudget(10);
    const first = read(100, budget);
    const second = read(100, budget);
    first.req.send('0123456789');
    expect(first.req.paused).toBe(false);
    second.req.send('x');
    expect(budget.heldBytes).toBe(11);
    expect(second.req.paused).toBe(true);
    first.req.end();
    first.outcome.release?.();
    expect(budget.heldBytes).toBe(1);
    expect(second.req.paused).toBe(false);
  });

  it('holds exactly its size without pausing anyone', () => {
    const budget = new BodyBudget(10);
    expect(budget.hold(10)).toBe(true);
    expect(budget.hold(1)).toBe(false);
    budget.release(1);
    let resumed = 0;
    budget.whenFree(() => resumed++);
    expect(resumed).toBe(1);
  });

  it('resumes waiting requests in order, only while the budget allows', () => {
    const budget = new BodyBudget(10);
    budget.hold(12);
    const order: string[] = [];
    budget.whenFree(() => order.push('a'));
    budget.whenFree(() => {
      order.push('b');
      budget.hold(5);
    });
    budget.whenFree(() => order.push('c'));
    expect(order).toEqual([]);
    budget.release(1);
    expect(order).toEqual([]);
    // Back to 10: a resumes, then b, whose hold spends it again, so c waits.
    budget.release(1);
    expect(order).toEqual(['a', 'b']);
    budget.release(5);
    expect(order).toEqual(['a', 'b', 'c']);
  });

  it('is ten payload quotas by default', () => {
    expect(HELD_BODIES_MAX_BYTES).toBe(10 * 10 * 1024 * 1024);
    expect(new BodyBudget().maxBytes).toBe(HELD_BODIES_MAX_BYTES);
  });
});
