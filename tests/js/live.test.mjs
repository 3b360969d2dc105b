// node --test tests/js: the live figures' JavaScript reproduces lrbook's numbers.
// The fixtures are written by scripts/write_live_fixtures.py (lrbook, float64); a value
// passes when |js − lrbook| <= 1e-10 · scale, where scale is the largest |value| of the same
// path (or schedule) — relative to the size of the numbers, so that coordinates that
// converge to 0 are not compared digit by digit below the path's rounding level.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
// core.js is a classic script (CommonJS under node, the global lrbookCore in a browser)
import core from "../../book/_static/lrbook-live/core.js";

const { compute, trajectory, makeProblem, scheduleValues, quadratic, makeOptimizer, momentumContractionFactor,
  stabilityLimit } = core;

const here = fileURLToPath(new URL(".", import.meta.url));
const FIX = JSON.parse(readFileSync(here + "live_fixtures.json", "utf8"));
const TOL = FIX.tolerance;

function flat(values) {
  return values.flatMap((v) => (v === null ? [null] : Array.isArray(v) ? v : [v]));
}

export function assertClose(actual, expected, what) {
  const a = flat(actual), e = flat(expected);
  assert.equal(a.length, e.length, `${what}: ${a.length} values, lrbook has ${e.length}`);
  const scale = Math.max(1e-300, ...e.filter((v) => v !== null).map(Math.abs));
  let worst = 0;
  for (let i = 0; i < e.length; i++) {
    if (e[i] === null || a[i] === null) {
      assert.equal(a[i], e[i], `${what}[${i}]: diverged in one and not the other`);
      continue;
    }
    const err = Math.abs(a[i] - e[i]) / scale;
    worst = Math.max(worst, err);
    assert.ok(err <= TOL, `${what}[${i}]: js ${a[i]} vs lrbook ${e[i]} (relative error ${err})`);
  }
  return worst;
}

test("fixtures are not empty", () => {
  assert.ok(FIX.paths.length >= 10 && FIX.schedules.length >= 15 && FIX.momentum.length >= 10);
  assert.equal(Object.keys(FIX.figures).length >= 6, true);
  assert.equal(TOL, 1e-10);
});

for (const c of FIX.paths) {
  test(`path: ${JSON.stringify(c.optimizer)} on ${JSON.stringify(c.problem)}`, () => {
    assertClose(trajectory(makeProblem(c.problem), c.optimizer, c.steps), c.expected, "path");
  });
}

for (const c of FIX.schedules) {
  test(`schedule: ${JSON.stringify(c.schedule).slice(0, 120)}`, () => {
    assertClose(scheduleValues(c.schedule, c.steps), c.expected, "schedule");
  });
}

for (const [id, fig] of Object.entries(FIX.figures)) {
  test(`figure ${id}: every state of the checks (${fig.cases.length})`, () => {
    for (const c of fig.cases) {
      const got = compute(fig.spec, c.state);
      assert.deepEqual(Object.keys(got).sort(), Object.keys(c.expected).sort(), `${id} ${JSON.stringify(c.state)}`);
      for (const key of Object.keys(c.expected)) assertClose(got[key], c.expected[key], `${id} ${key} ${JSON.stringify(c.state)}`);
    }
  });
}

for (const c of FIX.momentum) {
  test(`momentum on a quadratic: r and the stability limit, μ = ${c.mu}${c.nesterov ? ", Nesterov" : ""}`, () => {
    assertClose([stabilityLimit(c.mu, c.nesterov)], [c.limit], "limit");
    assertClose(c.z.map((z) => momentumContractionFactor(z, c.mu, c.nesterov)), c.r, "r");
    // r < 1 exactly below the limit (the cases include 0.99 and 1.01 times it)
    c.z.forEach((z, i) => assert.equal(c.r[i] < 1, z < c.limit, `z = ${z}: r = ${c.r[i]}`));
  });
}

test("core.js is a classic script: it defines the global lrbookCore when there is no module", () => {
  const src = readFileSync(here + "../../book/_static/lrbook-live/core.js", "utf8");
  const sandbox = {};
  new Function("globalThis", "module", src).call(sandbox, sandbox, undefined);
  assert.equal(typeof sandbox.lrbookCore.compute, "function");
  assert.ok(!/^\s*(export|import)\s/m.test(src), "no ES module syntax (a browser would not run it from file://)");
});

test("a figure's moved states differ from its default (the checks can fail)", () => {
  for (const [id, fig] of Object.entries(FIX.figures)) {
    const base = JSON.stringify(fig.cases[0].expected);
    for (const c of fig.cases.slice(1)) assert.notEqual(JSON.stringify(c.expected), base, `${id} moved ${c.moved}`);
  }
});

test("the comparison fails on a perturbed value", () => {
  const c = FIX.paths[0];
  const bad = structuredClone(c.expected);
  bad[3][0] *= 1 + 1e-8;
  assert.throws(() => assertClose(trajectory(makeProblem(c.problem), c.optimizer, c.steps), bad, "path"));
});

test("bad input gets a clear error", () => {
  assert.throws(() => quadratic({ kappa: 0.5 }), /kappa must be >= 1/);
  assert.throws(() => makeOptimizer({ name: "lbfgs", lr: 1 }), /optimizer must be one of/);
  assert.throws(() => makeProblem({ name: "sphere" }), /problem must be one of/);
  assert.throws(() => scheduleValues({ fn: "nope" }, 3), /schedule must be one of/);
  assert.throws(() => makeOptimizer({ name: "adam", lr: 0.1, betas: [1.0, 0.999] }), /betas\[0\]/);
  assert.throws(() => stabilityLimit(1.0, true), /mu \(the momentum\) must lie in \[0, 1\)/);
});
