// The rolling-update arithmetic (rolling-plan.ts), step by step as the
// controller applies it: surge and unavailability bounds, old pods that are
// not Ready go first, scale-down mid-rollout, plain scaling.
import assert from "node:assert/strict";
import { test } from "node:test";
import { isComplete, type PlanPod, planStep } from "../../src/runtime/rolling-plan.js";

const pod = (name: string, current: boolean, ready: boolean): PlanPod => ({
  name,
  current,
  ready,
  age: name,
});

/** Apply plans until complete: new pods become Ready one step after creation. */
function simulate(replicas: number, maxSurge: number, maxUnavailable: number, old = replicas) {
  let pods: PlanPod[] = Array.from({ length: old }, (_, i) => pod(`a${i}`, false, true));
  let n = 0;
  let minReady = replicas;
  let maxPods = pods.length;
  for (let step = 0; step < 100; step++) {
    const input = { pods, replicas, maxSurge, maxUnavailable };
    if (isComplete(input)) return { steps: step, minReady, maxPods };
    const plan = planStep(input);
    // pods created last step are Ready now
    pods = pods.map((p) => (p.current ? { ...p, ready: true } : p));
    pods = pods.filter((p) => !plan.remove.includes(p.name));
    minReady = Math.min(minReady, pods.filter((p) => p.ready).length);
    for (let i = 0; i < plan.create; i++) pods.push(pod(`b${n++}`, true, false));
    maxPods = Math.max(maxPods, pods.length);
  }
  assert.fail("no convergence");
}

test("surge 1 / unavailable 0: one pod more at most, never fewer Ready than replicas", () => {
  const r = simulate(3, 1, 0);
  assert.equal(r.minReady, 3);
  assert.equal(r.maxPods, 4);
});

test("surge 0 / unavailable 1: never more pods than replicas, at most one unavailable", () => {
  const r = simulate(3, 0, 1);
  assert.equal(r.minReady, 2);
  assert.equal(r.maxPods, 3);
});

test("surge 2 / unavailable 1 goes faster within its bounds", () => {
  const slow = simulate(6, 1, 0);
  const fast = simulate(6, 2, 1);
  assert.ok(fast.steps < slow.steps);
  assert.ok(fast.minReady >= 5);
  assert.ok(fast.maxPods <= 8);
});

test("a new pod not Ready holds every old pod; then one old pod goes", () => {
  const pods = [pod("a0", false, true), pod("a1", false, true), pod("b0", true, false)];
  assert.deepEqual(planStep({ pods, replicas: 2, maxSurge: 1, maxUnavailable: 0 }), {
    create: 0,
    remove: [],
  });
  pods[2] = pod("b0", true, true);
  assert.deepEqual(planStep({ pods, replicas: 2, maxSurge: 1, maxUnavailable: 0 }), {
    create: 0,
    remove: ["a0"],
  });
});

test("old pods that are not Ready are removed first (they serve nothing)", () => {
  const pods = [pod("a0", false, true), pod("a1", false, false), pod("b0", true, true)];
  assert.deepEqual(planStep({ pods, replicas: 2, maxSurge: 1, maxUnavailable: 0 }).remove, ["a1"]);
});

test("scaling without old pods: create the missing, remove not Ready then newest", () => {
  assert.deepEqual(planStep({ pods: [], replicas: 2, maxSurge: 1, maxUnavailable: 0 }), {
    create: 2,
    remove: [],
  });
  const pods = [pod("b0", true, true), pod("b1", true, false), pod("b2", true, true)];
  assert.deepEqual(planStep({ pods, replicas: 1, maxSurge: 1, maxUnavailable: 0 }), {
    create: 0,
    remove: ["b1", "b2"],
  });
});

test("scaled down mid-rollout: extra new pods go, old ones stay while they are needed", () => {
  const pods = [pod("a0", false, true), pod("b0", true, true), pod("b1", true, false)];
  const plan = planStep({ pods, replicas: 1, maxSurge: 1, maxUnavailable: 0 });
  assert.deepEqual(plan.remove, ["b1", "a0"]);
  assert.equal(plan.create, 0);
});
