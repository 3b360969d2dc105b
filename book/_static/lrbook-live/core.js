// lrbook-live core: the book's 2-D problems, optimizers and schedules in plain JavaScript.
//
// Every function here mirrors one in the Python package `lrbook` operation by operation
// (float64, torch's order of operations), so the live figures of the HTML book compute the
// same numbers as the notebooks. tests/js/live.test.mjs checks that against fixtures written
// by lrbook (scripts/write_live_fixtures.py) to 1e-10 relative. No DOM, no dependencies.
//
// A classic script, not an ES module, so that the book works when opened from disk (file://,
// where browsers refuse to load modules): in a browser it defines the global `lrbookCore`,
// under node it is a CommonJS module (package.json: "type": "commonjs").
// Notation as in the book: η learning rate, μ momentum, α RMSprop's decay, β1/β2 Adam's,
// λ weight decay, ε eps, κ condition number, h_min the smallest curvature, L = κ h_min.

(function (root, factory) {
  "use strict";
  const api = factory();
  if (typeof module === "object" && module.exports) module.exports = api;
  else root.lrbookCore = api;
})(typeof globalThis !== "undefined" ? globalThis : this, function () {
"use strict";

// ---------------------------------------------------------------- problems (lrbook.problems)

function checkPositive(name, value) {
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`${name} must be a finite number > 0, got ${value}`);
  }
  return value;
}

/** f(x) = ½ xᵀHx, H = R diag(h_min, κ h_min) Rᵀ, R a rotation by `angle` radians. */
function quadratic({ kappa = 10.0, h_min = 1.0, angle = 0.0 } = {}) {
  if (!(kappa >= 1)) throw new RangeError(`kappa must be >= 1 (it is h_max / h_min), got ${kappa}`);
  checkPositive("h_min", h_min);
  const c = Math.cos(angle), s = Math.sin(angle);
  const R = [[c, -s], [s, c]];
  const d = [h_min, kappa * h_min];
  // (R D) Rᵀ, summed in index order like a 2x2 matmul
  const RD = R.map((row) => [row[0] * d[0] + row[1] * 0.0, row[0] * 0.0 + row[1] * d[1]]);
  const H = [0, 1].map((i) => [0, 1].map((j) => RD[i][0] * R[j][0] + RD[i][1] * R[j][1]));
  return {
    name: "quadratic",
    dim: 2,
    H,
    L: kappa * h_min,
    f: (x) => 0.5 * (x[0] * (H[0][0] * x[0] + H[0][1] * x[1]) + x[1] * (H[1][0] * x[0] + H[1][1] * x[1])),
    grad: (x) => [x[0] * H[0][0] + x[1] * H[0][1], x[0] * H[1][0] + x[1] * H[1][1]],
    start: [-4.0, 3.0 / Math.sqrt(kappa) + 1.0],
    minimizer: [0, 0],
    xlim: [-5.0, 5.0],
    ylim: [-3.0, 3.0],
  };
}

/** f(x) = ½ c x² in one dimension (lrbook.problems.quadratic_1d). */
function quadratic_1d({ curvature = 2.0 } = {}) {
  checkPositive("curvature", curvature);
  return {
    name: "quadratic_1d",
    dim: 1,
    L: curvature,
    f: (x) => 0.5 * curvature * x[0] ** 2,
    grad: (x) => [curvature * x[0]],
    start: [1.5],
    minimizer: [0],
    xlim: [-2.0, 2.0],
  };
}

/** Rosenbrock's banana (a − x)² + b (y − x²)². */
function rosenbrock({ a = 1.0, b = 100.0 } = {}) {
  return {
    name: "rosenbrock",
    dim: 2,
    f: ([u, v]) => (a - u) ** 2 + b * (v - u * u) ** 2,
    grad: ([u, v]) => [-2.0 * (a - u) - 4.0 * b * u * (v - u * u), 2.0 * b * (v - u * u)],
    start: [-1.5, 2.0],
    minimizer: [a, a * a],
    xlim: [-2.0, 2.0],
    ylim: [-1.0, 3.0],
  };
}

// integer powers as torch computes them (x**2 = x*x, x**3 = x*x*x)
function ipow(x, k) {
  if (k === 0) return 1.0;
  if (k === 1) return x;
  if (k === 2) return x * x;
  return x * x * x;
}

/** Beale's function Σ_i (c_i − x + x yⁱ)², c = (1.5, 2.25, 2.625). */
function beale() {
  const C = [1.5, 2.25, 2.625];
  return {
    name: "beale",
    dim: 2,
    f: ([u, v]) => C.reduce((acc, ci, i) => acc + (ci - u + u * ipow(v, i + 1)) ** 2, 0),
    grad: ([u, v]) => {
      let du = 0.0, dv = 0.0;
      C.forEach((ci, i) => {
        const k = i + 1;
        const r = ci - u + u * ipow(v, k);
        du = du + 2.0 * r * (ipow(v, k) - 1.0);
        dv = dv + 2.0 * r * (k * u * ipow(v, k - 1));
      });
      return [du, dv];
    },
    start: [1.0, 1.5],
    minimizer: [3.0, 0.5],
    xlim: [-1.0, 4.5],
    ylim: [-1.5, 2.5],
  };
}

/** A saddle at the origin: x² − y² + ¼ y⁴. */
function saddle() {
  return {
    name: "saddle",
    dim: 2,
    f: ([u, v]) => u * u - v * v + 0.25 * v ** 4,
    grad: ([u, v]) => [2.0 * u, -2.0 * v + v * v * v],
    start: [2.0, 1e-3],
    minimizer: [0.0, Math.sqrt(2.0)],
    xlim: [-2.5, 2.5],
    ylim: [-2.2, 2.2],
  };
}

const PROBLEMS = { quadratic, quadratic_1d, rosenbrock, beale, saddle };

/** A problem from a spec {name, ...arguments}. */
function makeProblem(spec) {
  const { name, ...args } = spec;
  const make = PROBLEMS[name];
  if (!make) throw new RangeError(`problem must be one of ${Object.keys(PROBLEMS).join(", ")}, got ${name}`);
  return make(args);
}

// ---------------------------------------------------------------- optimizers (lrbook.optim)
// Each factory returns step(x, g) -> new x for one parameter vector (an array).

// torch's lerp: self + w (end − self) for |w| < 0.5, else end − (end − self)(1 − w)
function lerp(a, b, w) {
  return Math.abs(w) < 0.5 ? a + w * (b - a) : b - (b - a) * (1 - w);
}

function checkNonNegative(name, value) {
  if (!(value >= 0) || !Number.isFinite(value)) {
    throw new RangeError(`${name} must be a finite number >= 0, got ${value}`);
  }
  return value;
}

/** torch.optim.SGD: b_t = μ b_{t−1} + (1 − τ) g_t (b_1 = g_1); Nesterov steps along g_t + μ b_t. */
function sgd({ lr, momentum = 0, dampening = 0, weight_decay = 0, nesterov = false }) {
  checkNonNegative("lr", lr);
  checkNonNegative("momentum", momentum);
  let buf = null;
  return (x, grad) => {
    let g = weight_decay !== 0 ? grad.map((gi, i) => gi + weight_decay * x[i]) : grad;
    if (momentum !== 0) {
      buf = buf === null ? g.slice() : buf.map((bi, i) => bi * momentum + (1 - dampening) * g[i]);
      g = nesterov ? g.map((gi, i) => gi + momentum * buf[i]) : buf;
    }
    return x.map((xi, i) => xi + -lr * g[i]);
  };
}

/** torch.optim.Adagrad: G_t = G_{t−1} + g², θ −= η_t g / (√G_t + ε), η_t = η / (1 + (t−1) d). */
function adagrad({ lr, lr_decay = 0, weight_decay = 0, eps = 1e-10, initial_accumulator_value = 0 }) {
  checkNonNegative("lr", lr);
  let G = null, t = 0;
  return (x, grad) => {
    if (G === null) G = x.map(() => initial_accumulator_value);
    t += 1;
    const g = weight_decay !== 0 ? grad.map((gi, i) => gi + weight_decay * x[i]) : grad;
    const clr = lr / (1 + (t - 1) * lr_decay);
    G = G.map((Gi, i) => Gi + 1 * g[i] * g[i]);
    return x.map((xi, i) => xi + (-clr * g[i]) / (Math.sqrt(G[i]) + eps));
  };
}

/** torch.optim.RMSprop: v = α v + (1 − α) g², θ −= η g / (√v + ε) (centered and momentum as torch). */
function rmsprop({ lr, alpha = 0.99, eps = 1e-8, weight_decay = 0, momentum = 0, centered = false }) {
  checkNonNegative("lr", lr);
  checkNonNegative("alpha", alpha);
  let v = null, gAvg = null, buf = null;
  return (x, grad) => {
    if (v === null) { v = x.map(() => 0); gAvg = x.map(() => 0); buf = x.map(() => 0); }
    const g = weight_decay !== 0 ? grad.map((gi, i) => gi + weight_decay * x[i]) : grad;
    v = v.map((vi, i) => vi * alpha + (1 - alpha) * g[i] * g[i]);
    let denom;
    if (centered) {
      gAvg = gAvg.map((ai, i) => lerp(ai, g[i], 1 - alpha));
      denom = v.map((vi, i) => Math.sqrt(vi + -1 * gAvg[i] * gAvg[i]));
    } else {
      denom = v.map((vi) => Math.sqrt(vi));
    }
    denom = denom.map((di) => di + eps);
    if (momentum > 0) {
      buf = buf.map((bi, i) => bi * momentum + (1 * g[i]) / denom[i]);
      return x.map((xi, i) => xi + -lr * buf[i]);
    }
    return x.map((xi, i) => xi + (-lr * g[i]) / denom[i]);
  };
}

/** torch.optim.Adam / AdamW: ε added after the bias correction of √v; AdamW decays θ(1 − ηλ) first. */
function adam({ lr, betas = [0.9, 0.999], eps = 1e-8, weight_decay = 0, decoupled_weight_decay = false }) {
  checkNonNegative("lr", lr);
  const [beta1, beta2] = betas;
  if (!(beta1 >= 0 && beta1 < 1)) throw new RangeError(`betas[0] must be in [0, 1), got ${beta1}`);
  if (!(beta2 >= 0 && beta2 < 1)) throw new RangeError(`betas[1] must be in [0, 1), got ${beta2}`);
  let m = null, v = null, t = 0;
  return (x0, grad) => {
    let x = x0;
    if (m === null) { m = x.map(() => 0); v = x.map(() => 0); }
    t += 1;
    let g = grad;
    if (weight_decay !== 0) {
      if (decoupled_weight_decay) x = x.map((xi) => xi * (1 - lr * weight_decay));
      else g = grad.map((gi, i) => gi + weight_decay * x[i]);
    }
    m = m.map((mi, i) => lerp(mi, g[i], 1 - beta1));
    v = v.map((vi, i) => vi * beta2 + (1 - beta2) * g[i] * g[i]);
    const bc1 = 1 - beta1 ** t;
    const bc2 = 1 - beta2 ** t;
    const step = -(lr / bc1);
    return x.map((xi, i) => xi + (step * m[i]) / (Math.sqrt(v[i]) / bc2 ** 0.5 + eps));
  };
}

/** torch.optim.AdamW: Adam with decoupled weight decay, default λ = 1e-2. */
function adamw({ weight_decay = 1e-2, ...rest }) {
  return adam({ ...rest, weight_decay, decoupled_weight_decay: true });
}

const OPTIMIZERS = {
  gd: (o) => sgd({ lr: o.lr }),
  sgd,
  adagrad,
  rmsprop,
  adam,
  adamw,
};

/** An optimizer from a spec {name, ...hyperparameters}; unknown hyperparameters are ignored. */
function makeOptimizer(spec) {
  const { name, label, ...args } = spec; // eslint-disable-line no-unused-vars
  const make = OPTIMIZERS[name];
  if (!make) throw new RangeError(`optimizer must be one of ${Object.keys(OPTIMIZERS).join(", ")}, got ${name}`);
  return make(args);
}

/**
 * Run an optimizer on a problem: the path x_0, ..., x_n as an array of n + 1 points.
 * As lrbook.problems.trajectory, a run whose iterate stops being finite or leaves |x| < blowup
 * is stopped, and the remaining points are null.
 */
function trajectory(problem, optimizerSpec, numSteps, { start = null, blowup = 1e6 } = {}) {
  if (!(Number.isInteger(numSteps) && numSteps >= 0)) {
    throw new RangeError(`numSteps must be an integer >= 0, got ${numSteps}`);
  }
  const step = makeOptimizer(optimizerSpec);
  let x = (start || problem.start).slice();
  const path = [x.slice()];
  let alive = true;
  for (let t = 1; t <= numSteps; t++) {
    if (alive) {
      x = step(x, problem.grad(x));
      if (!x.every((xi) => Number.isFinite(xi)) || Math.max(...x.map(Math.abs)) > blowup) alive = false;
    }
    path.push(alive ? x.slice() : null);
  }
  return path;
}

// ---------------------------------------------------------------- schedules (lrbook.schedules)

function sgdrPosition(t, T0, Tmult) {
  if (Tmult === 1) return [t % T0, T0];
  let Ti = T0, Tcur = t;
  while (Tcur >= Ti) { Tcur -= Ti; Ti *= Tmult; }
  return [Tcur, Ti];
}

function cyclicalFactors(t, up, down, mode, gamma) {
  const dn = down === null || down === undefined ? up : down;
  const cycleLength = up + dn;
  const rise = up / cycleLength;
  const cycle = Math.floor(1 + t / cycleLength);
  const x = 1.0 + t / cycleLength - cycle;
  const triangle = x <= rise ? x / rise : (x - 1) / (rise - 1);
  let amplitude;
  if (mode === "triangular") amplitude = 1.0;
  else if (mode === "triangular2") amplitude = 1 / 2.0 ** (cycle - 1);
  else if (mode === "exp_range") amplitude = gamma ** t;
  else throw new RangeError(`mode must be one of 'triangular', 'triangular2', 'exp_range', got ${mode}`);
  return [triangle, amplitude];
}

function oneCyclePhases(total, pct, threePhase) {
  const warmEnd = pct * total - 1;
  if (threePhase) {
    return [
      [warmEnd, "initial", "max", "max", "base"],
      [2 * pct * total - 2, "max", "initial", "base", "max"],
      [total - 1, "initial", "min", "max", "max"],
    ];
  }
  return [[warmEnd, "initial", "max", "max", "base"], [total - 1, "max", "min", "base", "max"]];
}

function anneal(strategy, start, end, pct) {
  if (strategy === "cos") return end + ((start - end) / 2.0) * (Math.cos(Math.PI * pct) + 1);
  return (end - start) * pct + start;
}

function oneCycleLocate(t, phases) {
  let phaseStart = 0.0;
  for (let i = 0; i < phases.length; i++) {
    const end = phases[i][0];
    if (t <= end || i === phases.length - 1) return [phases[i], (t - phaseStart) / (end - phaseStart)];
    phaseStart = end;
  }
  throw new Error("unreachable");
}

function checkOneCycle(t, total, pct) {
  if (!(Number.isInteger(total) && total > 0)) throw new RangeError(`total_steps must be a positive integer, got ${total}`);
  if (!(pct * total > 1 && (1 - pct) * total > 0)) {
    throw new RangeError(`pct_start * total_steps must be > 1 and pct_start < 1, got pct_start=${pct}, total_steps=${total}`);
  }
  if (t > total) throw new RangeError(`step must be <= total_steps=${total}, got ${t}`);
}

// --- random_lr: numpy's default_rng([seed, step]).random() (SeedSequence + PCG64), in BigInt
const M32 = 0xffffffffn;
const M64 = (1n << 64n) - 1n;
const M128 = (1n << 128n) - 1n;
const PCG_MULT = 0x2360ed051fc65da44385df649fccf645n;

function seedSequenceState(words) {
  // numpy.random.SeedSequence(entropy=words).generate_state(4, uint64); pool size 4 (uint32)
  const INIT_A = 0x43b0d7e5n, MULT_A = 0x931e8875n, INIT_B = 0x8b51f9ddn, MULT_B = 0x58f38dedn;
  const MIX_L = 0xca01f9ddn, MIX_R = 0x4973f715n;
  let hashConst = INIT_A;
  const hashmix = (value) => {
    value = (value ^ hashConst) & M32;
    hashConst = (hashConst * MULT_A) & M32;
    value = (value * hashConst) & M32;
    return value ^ (value >> 16n);
  };
  const mix = (x, y) => {
    const r = (MIX_L * x - MIX_R * y) & M32;
    return r ^ (r >> 16n);
  };
  const entropy = words.map(BigInt);
  const pool = [0, 1, 2, 3].map((i) => hashmix(i < entropy.length ? entropy[i] : 0n));
  for (let src = 0; src < 4; src++) {
    for (let dst = 0; dst < 4; dst++) if (src !== dst) pool[dst] = mix(pool[dst], hashmix(pool[src]));
  }
  for (let src = 4; src < entropy.length; src++) {
    for (let dst = 0; dst < 4; dst++) pool[dst] = mix(pool[dst], hashmix(entropy[src]));
  }
  let hb = INIT_B;
  const out32 = [];
  for (let i = 0; i < 8; i++) {
    let d = (pool[i % 4] ^ hb) & M32;
    hb = (hb * MULT_B) & M32;
    d = (d * hb) & M32;
    out32.push(d ^ (d >> 16n));
  }
  return [0, 1, 2, 3].map((i) => out32[2 * i] | (out32[2 * i + 1] << 32n));
}

function uint32Words(n) {
  if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`expected an integer >= 0, got ${n}`);
  let big = BigInt(n);
  if (big === 0n) return [0n];
  const words = [];
  while (big > 0n) { words.push(big & M32); big >>= 32n; }
  return words;
}

function pcg64Uniform(seed, step) {
  const s = seedSequenceState([...uint32Words(seed), ...uint32Words(step)]);
  const initstate = (s[0] << 64n) | s[1];
  const initseq = (s[2] << 64n) | s[3];
  const inc = ((initseq << 1n) | 1n) & M128;
  let state = 0n;
  state = (state * PCG_MULT + inc) & M128;
  state = (state + initstate) & M128;
  state = (state * PCG_MULT + inc) & M128;
  // one draw: step, then the XSL-RR output of the new state
  state = (state * PCG_MULT + inc) & M128;
  const rot = state >> 122n;
  const xored = ((state >> 64n) ^ state) & M64;
  const out = ((xored >> rot) | (xored << ((64n - rot) & 63n))) & M64;
  return Number(out >> 11n) * 2 ** -53;
}

const SCHEDULES = {
  constant: (t, { learning_rate }) => learning_rate,
  step_decay: (t, { initial_learning_rate, step_size, gamma = 0.1 }) =>
    initial_learning_rate * gamma ** Math.floor(t / step_size),
  multistep_decay: (t, { initial_learning_rate, milestones, gamma = 0.1 }) =>
    initial_learning_rate * gamma ** milestones.filter((m) => m <= t).length,
  exponential_decay: (t, { initial_learning_rate, decay_steps, decay_rate, staircase = false }) => {
    let p = t / decay_steps;
    if (staircase) p = Math.floor(p);
    return initial_learning_rate * decay_rate ** p;
  },
  inverse_time_decay: (t, { initial_learning_rate, decay_steps, decay_rate, staircase = false }) => {
    let p = t / decay_steps;
    if (staircase) p = Math.floor(p);
    return initial_learning_rate / (1 + decay_rate * p);
  },
  polynomial_decay: (t, { initial_learning_rate, decay_steps, end_learning_rate = 0.0, power = 1.0, cycle = false }) => {
    let T = decay_steps;
    if (cycle) T = T * (t === 0 ? 1 : Math.ceil(t / T));
    else t = Math.min(t, T);
    return (initial_learning_rate - end_learning_rate) * (1 - t / T) ** power + end_learning_rate;
  },
  linear_decay: (t, { initial_learning_rate, total_steps, end_learning_rate = 0.0 }) =>
    initial_learning_rate + ((end_learning_rate - initial_learning_rate) * Math.min(t, total_steps)) / total_steps,
  cosine_decay: (t, { initial_learning_rate, decay_steps, min_learning_rate = 0.0, periodic = false }) => {
    if (!periodic) t = Math.min(t, decay_steps);
    return min_learning_rate + ((initial_learning_rate - min_learning_rate) * (1 + Math.cos((Math.PI * t) / decay_steps))) / 2;
  },
  cosine_with_warm_restarts: (t, { initial_learning_rate, T_0, T_mult = 1, min_learning_rate = 0.0 }) => {
    const [Tcur, Ti] = sgdrPosition(t, T_0, T_mult);
    return SCHEDULES.cosine_decay(Tcur, { initial_learning_rate, decay_steps: Ti, min_learning_rate, periodic: true });
  },
  cyclical: (t, { base_lr, max_lr, step_size_up = 2000, step_size_down = null, mode = "triangular", gamma = 1.0 }) => {
    const [triangle, amplitude] = cyclicalFactors(t, step_size_up, step_size_down, mode, gamma);
    return base_lr + (max_lr - base_lr) * triangle * amplitude;
  },
  cyclical_momentum: (t, { base_momentum = 0.8, max_momentum = 0.9, step_size_up = 2000, step_size_down = null, mode = "triangular", gamma = 1.0 }) => {
    const [triangle, amplitude] = cyclicalFactors(t, step_size_up, step_size_down, mode, gamma);
    return max_momentum - (max_momentum - base_momentum) * triangle * amplitude;
  },
  one_cycle: (t, { max_lr, total_steps, pct_start = 0.3, anneal_strategy = "cos", div_factor = 25.0, final_div_factor = 1e4, three_phase = false }) => {
    checkOneCycle(t, total_steps, pct_start);
    const initial = max_lr / div_factor;
    const rates = { initial, max: max_lr, min: initial / final_div_factor };
    const [phase, pct] = oneCycleLocate(t, oneCyclePhases(total_steps, pct_start, three_phase));
    return anneal(anneal_strategy, rates[phase[1]], rates[phase[2]], pct);
  },
  one_cycle_momentum: (t, { total_steps, pct_start = 0.3, anneal_strategy = "cos", base_momentum = 0.85, max_momentum = 0.95, three_phase = false }) => {
    checkOneCycle(t, total_steps, pct_start);
    const momenta = { base: base_momentum, max: max_momentum };
    const [phase, pct] = oneCycleLocate(t, oneCyclePhases(total_steps, pct_start, three_phase));
    return anneal(anneal_strategy, momenta[phase[3]], momenta[phase[4]], pct);
  },
  warmup_stable_decay: (t, { learning_rate, warmup_steps, stable_steps, decay_steps, min_learning_rate = 0.0, cooldown = "1-sqrt" }) => {
    const Tw = warmup_steps, Ts = stable_steps, Td = decay_steps;
    if (t < Tw) return (learning_rate * t) / Tw;
    if (t < Tw + Ts) return learning_rate;
    if (t >= Tw + Ts + Td) return min_learning_rate;
    const p = (t - Tw - Ts) / Td;
    const shape = { "1-sqrt": () => 1 - Math.sqrt(p), linear: () => 1 - p,
      cosine: () => 0.5 * (1 + Math.cos(Math.PI * p)), "1-square": () => 1 - p * p }[cooldown];
    if (!shape) throw new RangeError(`cooldown must be one of '1-sqrt', 'linear', 'cosine', '1-square', got ${cooldown}`);
    return min_learning_rate + (learning_rate - min_learning_rate) * shape();
  },
  random_lr: (t, { low, high, seed = 0 }) => low + (high - low) * pcg64Uniform(seed, t),
};

/**
 * A schedule t -> η_t from a spec {fn, kwargs}. Compositions as lrbook.schedules:
 * {fn: "linear_warmup", kwargs: {schedule: spec, warmup_steps, start = 0, shift = true}} and
 * {fn: "join_schedules", kwargs: {schedules: [spec, ...], boundaries: [...]}}.
 */
function makeSchedule(spec) {
  const { fn, kwargs = {} } = spec;
  if (fn === "linear_warmup") {
    const inner = makeSchedule(kwargs.schedule);
    const W = kwargs.warmup_steps, start = kwargs.start ?? 0.0, shift = kwargs.shift ?? true;
    checkNonNegative("warmup_steps", W);
    return (t) => {
      if (t >= W) return inner(shift ? t - W : t);
      const target = inner(shift ? 0 : W);
      return start + ((target - start) * t) / W;
    };
  }
  if (fn === "join_schedules") {
    const parts = kwargs.schedules.map(makeSchedule);
    const bounds = kwargs.boundaries;
    return (t) => {
      let index = 0;
      while (index < bounds.length && bounds[index] <= t) index++;
      const offset = index > 0 ? bounds[index - 1] : 0;
      return parts[index](t - offset);
    };
  }
  const f = SCHEDULES[fn];
  if (!f) throw new RangeError(`schedule must be one of ${Object.keys(SCHEDULES).join(", ")}, got ${fn}`);
  return (t) => f(t, kwargs);
}

/** η_0, ..., η_{n−1} of a schedule spec. */
function scheduleValues(spec, n) {
  const s = makeSchedule(spec);
  return Array.from({ length: n }, (_, t) => s(t));
}

// ---------------------------------------------------------------- momentum on a quadratic (lrbook.linear_dynamics)
// One eigendirection of curvature h, z = η h: the error follows e_t = a e_{t−1} − b e_{t−2} with
// heavy ball a = 1 + μ − z, b = μ and Nesterov (torch's nesterov=True) a = (1 + μ)(1 − z), b = μ(1 − z).

function checkMomentum(mu) {
  if (!(mu >= 0 && mu < 1)) throw new RangeError(`mu (the momentum) must lie in [0, 1), got ${mu}`);
}

/** Contraction factor per step r: the largest modulus of the roots of x² − a x + b (lrbook.linear_dynamics). */
function momentumContractionFactor(z, mu, nesterov = false) {
  checkMomentum(mu);
  const a = nesterov ? (1 + mu) * (1 - z) : 1 + mu - z;
  const b = nesterov ? mu * (1 - z) : mu;
  const disc = a * a - 4 * b;
  if (disc < 0) return Math.sqrt(b); // complex pair: |x|² = b
  const s = Math.sqrt(disc);
  return Math.max(Math.abs((a + s) / 2), Math.abs((a - s) / 2));
}

/** Largest stable z = η h: 2(1 + μ) for heavy ball, 2(1 + μ)/(1 + 2μ) for Nesterov (lrbook.linear_dynamics). */
function stabilityLimit(mu, nesterov = false) {
  checkMomentum(mu);
  return nesterov ? (2 * (1 + mu)) / (1 + 2 * mu) : 2 * (1 + mu);
}

// ---------------------------------------------------------------- figure specs
// A figure spec (written by lrbook.live) holds parameters such as "$lr" that refer to its
// controls; resolve() substitutes the control values (after each control's transform).

/** The value a control's raw (slider) value stands for: 10^v, v·factor, or v. */
function controlValue(control, raw) {
  if (control.type === "select") {
    if (!control.options.includes(raw)) throw new RangeError(`${control.name} must be one of ${control.options.join(", ")}, got ${raw}`);
    return control.choices ? control.choices[raw] : raw;
  }
  const v = Number(raw);
  if (control.transform === "pow10") return 10.0 ** v;
  if (control.transform === "one_minus_pow10") return 1 - 10.0 ** v;
  if (control.transform === "times") return v * control.factor;
  return v;
}

const OPS = { sub: (a, b) => a - b, add: (a, b) => a + b, mul: (a, b) => a * b, max: (a, b) => Math.max(a, b) };

function evaluate(expr, values) {
  if (Array.isArray(expr)) return OPS[expr[0]](evaluate(expr[1], values), evaluate(expr[2], values));
  return resolve(expr, values);
}

/** Replace every "$name" string in `obj` by values[name] (recursively). */
function resolve(obj, values) {
  if (typeof obj === "string" && obj.startsWith("$")) {
    const key = obj.slice(1);
    if (!(key in values)) throw new RangeError(`unknown parameter ${obj}`);
    return values[key];
  }
  if (Array.isArray(obj)) return obj.map((o) => resolve(o, values));
  if (obj && typeof obj === "object") {
    return Object.fromEntries(Object.entries(obj).map(([k, o]) => [k, resolve(o, values)]));
  }
  return obj;
}

/** Is a series/control shown for this state? ("when": {control: value or [values]}) */
function active(item, state) {
  if (!item.when) return true;
  return Object.entries(item.when).every(([k, v]) => (Array.isArray(v) ? v.includes(state[k]) : state[k] === v));
}

/** The parameter values of a state {control name: raw value}. */
function parameterValues(spec, state) {
  const values = {};
  for (const c of spec.controls) values[c.name] = controlValue(c, state[c.name]);
  for (const [name, expr] of Object.entries(spec.derived || {})) values[name] = evaluate(expr, values);
  return values;
}

/**
 * Everything a figure computes for a state: for "trajectory" figures one path per active
 * series, for "schedule" figures the values η_0..η_{n−1} per active series.
 */
function compute(spec, state) {
  const values = parameterValues(spec, state);
  const out = {};
  for (const series of spec.series) {
    if (!active(series, state)) continue;
    const s = resolve(series, values);
    if (spec.kind === "trajectory") {
      const problem = makeProblem(s.problem);
      out[s.key] = trajectory(problem, s.optimizer, s.steps);
    } else {
      out[s.key] = scheduleValues(s.schedule, s.steps);
    }
  }
  if (spec.marker) { // the value read out at step t (first series)
    const t = resolve(spec.marker, values);
    out.marker = [t, Object.values(out)[0][t]];
  }
  return out;
}

// ---------------------------------------------------------------- the public API
return {
  quadratic,
  quadratic_1d,
  rosenbrock,
  beale,
  saddle,
  PROBLEMS,
  makeProblem,
  sgd,
  adagrad,
  rmsprop,
  adam,
  adamw,
  OPTIMIZERS,
  makeOptimizer,
  trajectory,
  SCHEDULES,
  makeSchedule,
  scheduleValues,
  controlValue,
  resolve,
  active,
  parameterValues,
  compute,
  momentumContractionFactor,
  stabilityLimit,
};
});
