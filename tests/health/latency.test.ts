// The adaptive failure bound: the maximum before any sample, the floor for a fast node, room for a node
// slowed 5×, a bound that follows a node that slows down, one stray slow answer ignored, and values that
// are not durations ignored.
import { describe, expect, it } from 'vitest';
import { LatencyEstimator, SLOWDOWN_FACTOR, WINDOW } from '../../src/health/latency.js';

const bounds = { minMs: 250, maxMs: 1_000 };

function steady(ms: number, count = WINDOW): LatencyEstimator {
  const e = new LatencyEstimator(bounds);
  for (let i = 0; i < count; i++) e.observe(ms);
  return e;
}

describe('LatencyEstimator', () => {
  it('allows the maximum until the node has answered once', () => {
    const e = new LatencyEstimator(bounds);
    expect(e.usualMs).toBeNull();
    expect(e.boundMs()).toBe(1_000);
  });

  it('is right after a single answer', () => {
    const e = new LatencyEstimator(bounds);
    e.observe(60);
    expect(e.boundMs()).toBe(SLOWDOWN_FACTOR * 60);
  });

  it('never goes below the floor for a fast node', () => {
    const e = steady(2);
    expect(e.usualMs).toBe(2);
    expect(e.boundMs()).toBe(250);
  });

  it('never exceeds the maximum for a slow node', () => {
    expect(steady(400).boundMs()).toBe(1_000);
  });

  it('lets every answer of a node slowed to 5× its usual latency pass, and follows the new latency', () => {
    const e = steady(60);
    for (let i = 0; i < 2 * WINDOW; i++) {
      expect(300).toBeLessThan(e.boundMs());
      e.observe(300);
    }
    expect(e.usualMs).toBe(300);
    expect(e.boundMs()).toBe(1_000);
  });

  it('comes back down once a node is fast again', () => {
    const e = steady(90);
    for (let i = 0; i < WINDOW; i++) e.observe(5);
    expect(e.boundMs()).toBe(250);
  });

  it('is not moved by one stray slow answer', () => {
    const e = steady(40);
    e.observe(900);
    expect(e.boundMs()).toBe(SLOWDOWN_FACTOR * 40);
  });

  it('widens when slow answers are common', () => {
    const e = new LatencyEstimator({ minMs: 10, maxMs: 100_000 });
    for (let i = 0; i < WINDOW; i++) e.observe(i % 3 === 0 ? 80 : 20);
    expect(e.usualMs).toBe(20);
    expect(e.boundMs()).toBe(SLOWDOWN_FACTOR * 80);
  });

  it('ignores values that are not durations', () => {
    const e = steady(40);
    const before = e.boundMs();
    e.observe(Number.NaN);
    e.observe(-5);
    e.observe(Number.POSITIVE_INFINITY);
    expect(e.boundMs()).toBe(before);
  });
});
