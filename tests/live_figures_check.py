"""Check the live figures of the built book in headless Chromium, against lrbook's numbers.

Usage::

    .venv/bin/python tests/live_figures_check.py [_build/html] [--screenshots DIR] [--fixtures F]
                                                 [--via http,file]

Opens the HTML twice, served from 127.0.0.1 (``http``) and straight from disk (``file``, as a
reader who opens _build/html/index.html does: browsers refuse ES modules there, so a figure
that needs one fails this pass), and drives Debian's ``/usr/bin/chromium`` with Playwright, as
tests/browser_check.py does (its server and browser settings are reused). For every page that
has a live figure (``div.lrbook-live``) and for every figure on it, in both passes, it fails unless

- the figure mounts (the script loaded from ``_static`` without any network) and gives an SVG
  with an ``aria-label``, its static image keeps an ``alt`` text, and the static picture and
  its note are hidden;
- for the default state and for each state of the fixtures (each control moved away from its
  default, as :func:`lrbook.live.state_cases` lists them), set through the page's own sliders
  and menus with ``input`` events, the numbers in the figure's readout match lrbook's
  (``tests/js/live_fixtures.json``) to 1e-10 relative (to the largest value of the path);
- the drawing (the SVG markup) differs from the drawing of the state the control was moved from;
- every figure of the fixtures is found on some page, and the console shows no error, no
  uncaught exception and no request to a non-localhost host;
- with its script core.js blocked, a page keeps every figure's static picture, and the note
  under it says that the live version could not start (the fallback tells the truth).

A screenshot of each figure in its default state and after the last move (of the first pass) is
written to ``_build/screenshots/live/`` (or ``--screenshots``). Exit status 0 when everything passes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser_check import CHROMIUM, CHROMIUM_ARGS, LOCAL_HOSTS, find_pages, serve  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "js" / "live_fixtures.json"

SET_STATE_JS = """
([id, state]) => {
  const root = Array.from(document.querySelectorAll('.lrbook-live')).find(
      r => JSON.parse(r.getAttribute('data-lrbook-live')).id === id);
  // menus first: they decide which sliders are shown
  const entries = Object.entries(state).sort(
      ([a], [b]) => (root.querySelector(`[name="${b}"]`).tagName === 'SELECT') -
                    (root.querySelector(`[name="${a}"]`).tagName === 'SELECT'));
  for (const [name, value] of entries) {
    const input = root.querySelector(`[name="${name}"]`);
    input.value = String(value);
    if (String(input.value) !== String(value) && Number(input.value) !== Number(value))
      return {error: `control ${name} did not take the value ${value} (has ${input.value})`};
    input.dispatchEvent(new Event('input', {bubbles: true}));
  }
  const svg = root.querySelector('svg.lrbook-live-svg');
  const out = root.querySelector('output.lrbook-live-readout');
  return {svg: svg.innerHTML, values: JSON.parse(out.getAttribute('data-values')), text: out.textContent};
}
"""

FALLBACK_JS = """
async () => {
  const roots = Array.from(document.querySelectorAll('.lrbook-live'));
  const t0 = Date.now();
  while (roots.some(r => !r.hasAttribute('data-lrbook-live-failed')) && Date.now() - t0 < 15000)
    await new Promise(r => setTimeout(r, 50));
  const shown = e => !!e && getComputedStyle(e).display !== 'none' && e.getBoundingClientRect().height > 0;
  return roots.map(r => ({
    id: JSON.parse(r.getAttribute('data-lrbook-live')).id,
    failed: r.getAttribute('data-lrbook-live-failed'),
    ready: r.hasAttribute('data-lrbook-live-ready'),
    image: shown(r.querySelector('img.lrbook-live-static')),
    note: shown(r.querySelector('.lrbook-live-note')) ? r.querySelector('.lrbook-live-note').textContent : '',
  }));
}
"""

FIGURES_ON_PAGE_JS = """
async () => {
  const roots = Array.from(document.querySelectorAll('.lrbook-live'));
  const t0 = Date.now();
  while (roots.some(r => !r.hasAttribute('data-lrbook-live-ready')) && Date.now() - t0 < 15000)
    await new Promise(r => setTimeout(r, 50));
  return roots.map(r => ({
    id: JSON.parse(r.getAttribute('data-lrbook-live')).id,
    ready: r.hasAttribute('data-lrbook-live-ready'),
    failed: r.getAttribute('data-lrbook-live-failed'),
    staticShown: Array.from(r.querySelectorAll('.lrbook-live-static, .lrbook-live-note')).some(
        e => getComputedStyle(e).display !== 'none'),
    aria: (r.querySelector('svg.lrbook-live-svg') || {getAttribute: () => ''}).getAttribute('aria-label') || '',
    alt: (r.querySelector('img.lrbook-live-static') || {getAttribute: () => ''}).getAttribute('alt') || '',
    inFigure: !!r.closest('figure'),
  }));
}
"""


TARGET_JS = """
([id, target]) => {
  const root = Array.from(document.querySelectorAll('.lrbook-live')).find(
      r => JSON.parse(r.getAttribute('data-lrbook-live')).id === id);
  const spec = JSON.parse(root.getAttribute('data-lrbook-live'));
  const cx = spec.controls.find(c => c.name === spec.phase.x), cy = spec.controls.find(c => c.name === spec.phase.y);
  const svg = root.querySelector('svg.lrbook-live-svg');
  root.scrollIntoView();
  const pt = svg.createSVGPoint();
  pt.x = 60 + (target[spec.phase.x] - cx.min) / (cx.max - cx.min) * 300;
  pt.y = 296 - (target[spec.phase.y] - cy.min) / (cy.max - cy.min) * 290;
  const q = pt.matrixTransform(svg.getScreenCTM());
  const h = root.querySelector('.lrbook-live-handle').getBoundingClientRect();
  return {from: [h.x + h.width / 2, h.y + h.height / 2], to: [q.x, q.y]};
}
"""

READ_JS = """
([id, names]) => {
  const root = Array.from(document.querySelectorAll('.lrbook-live')).find(
      r => JSON.parse(r.getAttribute('data-lrbook-live')).id === id);
  const out = root.querySelector('output.lrbook-live-readout');
  return {svg: root.querySelector('svg.lrbook-live-svg').innerHTML,
          values: JSON.parse(out.getAttribute('data-values')),
          state: Object.fromEntries(names.map(n => [n, Number(root.querySelector(`[name="${n}"]`).value)]))};
}
"""


def drag(page, fid: str, target: dict) -> dict:
    """Drag the point of a figure's phase plane to ``target`` with the mouse; the page's numbers after."""
    where = page.evaluate(TARGET_JS, [fid, target])
    page.mouse.move(*where["from"])
    page.mouse.down()
    page.mouse.move(*where["to"], steps=8)
    page.mouse.up()
    got = page.evaluate(READ_JS, [fid, list(target)])
    if any(abs(got["state"][k] - v) > 1e-12 for k, v in target.items()):
        return {"error": f"dragging the point set {got['state']}, not {target}"}
    return got


def _flat(values):
    out = []
    for v in values:
        if isinstance(v, list):
            out.extend(v)
        else:
            out.append(v)
    return out


def compare(actual: dict, expected: dict, tol: float) -> list[str]:
    """Differences between the page's numbers and lrbook's (empty when they match)."""
    if actual is None:
        return ["the readout has no numbers"]
    problems = []
    if sorted(actual) != sorted(expected):
        return [f"series {sorted(actual)} != lrbook's {sorted(expected)}"]
    for key, exp in expected.items():
        a, e = _flat(actual[key]), _flat(exp)
        if len(a) != len(e):
            problems.append(f"{key}: {len(a)} values, lrbook has {len(e)}")
            continue
        scale = max([abs(v) for v in e if v is not None] + [1e-300])
        for i, (x, y) in enumerate(zip(a, e, strict=True)):
            if (x is None) != (y is None) or (y is not None and abs(x - y) > tol * scale):
                problems.append(f"{key}[{i}]: page {x} vs lrbook {y}")
                break
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("html", nargs="?", default="_build/html", type=Path)
    parser.add_argument("--screenshots", type=Path, default=None)
    parser.add_argument("--fixtures", type=Path, default=FIXTURES)
    parser.add_argument("--figures", nargs="*", default=None, help="only these figure ids")
    parser.add_argument("--via", default="http,file",
                        help="how to open the pages, comma-separated: http (a local server), file (from disk)")
    args = parser.parse_args(argv)
    modes = [m for m in args.via.split(",") if m]
    if not modes or set(modes) - {"http", "file"}:
        parser.error(f"--via must list http and/or file, got {args.via!r}")
    root = args.html.resolve()
    if not (root / "index.html").exists():
        print(f"live figures check: no built book at {root}")
        return 1
    if not Path(CHROMIUM).exists():
        print(f"live figures check: {CHROMIUM} is missing (sudo apt-get install -y chromium)")
        return 1
    fixtures = json.loads(args.fixtures.read_text())
    if args.figures:
        fixtures["figures"] = {k: v for k, v in fixtures["figures"].items() if k in args.figures}
    tol = fixtures["tolerance"]
    shots = (args.screenshots or root.parent / "screenshots" / "live").resolve()
    shots.mkdir(parents=True, exist_ok=True)
    pages = [p for p in find_pages(root) if "class=\"lrbook-live\"" in (root / p).read_text(errors="replace")]

    from playwright.sync_api import sync_playwright

    failures: list[str] = []
    seen: dict[str, set[str]] = {mode: set() for mode in modes}
    n_states = 0
    server, base_url = serve(root)
    bases = {"http": base_url, "file": root.as_uri() + "/"}
    t_start = time.perf_counter()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            external: list[str] = []

            def route(route_obj) -> None:
                parsed = urlparse(route_obj.request.url)
                if parsed.scheme in ("http", "https", "ws", "wss") and parsed.hostname not in LOCAL_HOSTS:
                    external.append(route_obj.request.url)
                    route_obj.abort()
                else:
                    route_obj.continue_()

            context.route("**/*", route)
            for mode in modes:
                for page_path in pages:
                    page = context.new_page()
                    events: list[str] = []
                    page.on("console", lambda m, ev=events: ev.append(f"console {m.type}: {m.text[:300]}")
                            if m.type == "error" else None)
                    page.on("pageerror", lambda e, ev=events: ev.append(f"uncaught exception: {str(e)[:300]}"))
                    n_ext = len(external)
                    page.goto(bases[mode] + page_path, wait_until="load", timeout=60_000)
                    figures = page.evaluate(FIGURES_ON_PAGE_JS)
                    problems: list[str] = []
                    for fig in figures:
                        fid = fig["id"]
                        if args.figures and fid not in args.figures:
                            continue
                        seen[mode].add(fid)
                        if not fig["ready"]:
                            problems.append(f"{fid}: never mounted ({fig['failed'] or 'no reason given'})")
                            continue
                        if fig["staticShown"]:
                            problems.append(f"{fid}: the static picture or its note is still shown")
                        if not fig["aria"] or not fig["alt"]:
                            problems.append(f"{fid}: missing aria-label or alt text")
                        if not fig["inFigure"]:
                            problems.append(f"{fid}: not inside a numbered figure (caption)")
                        if fid not in fixtures["figures"]:
                            problems.append(f"{fid}: no fixtures (run scripts/write_live_fixtures.py)")
                            continue
                        cases = fixtures["figures"][fid]["cases"]
                        drawings: dict[str, str] = {}
                        locator = page.locator(".lrbook-live").nth([f["id"] for f in figures].index(fid))
                        for i, case in enumerate(cases):
                            if case["moved"] is not None and "from" in case:  # the drawing before the move
                                before = page.evaluate(SET_STATE_JS, [fid, case["from"]])
                                drawings[json.dumps(case["from"], sort_keys=True)] = before.get("svg", "")
                            if "drag" in case:
                                got = drag(page, fid, case["drag"])
                            else:
                                got = page.evaluate(SET_STATE_JS, [fid, case["state"]])
                            if "error" in got:
                                problems.append(f"{fid}: {got['error']}")
                                continue
                            bad = compare(got["values"], case["expected"], tol)
                            what = "default" if case["moved"] is None else f"{case['moved']} moved"
                            problems += [f"{fid} ({what}, {case['state']}): {b}" for b in bad]
                            if case["moved"] is not None and "from" in case:
                                if got["svg"] == drawings[json.dumps(case["from"], sort_keys=True)]:
                                    problems.append(f"{fid}: moving {case['moved']} did not change the drawing")
                            if i == 0 and mode == modes[0]:
                                locator.screenshot(path=str(shots / f"{fid}-default.png"))
                        if mode == modes[0]:
                            locator.screenshot(path=str(shots / f"{fid}-moved.png"))
                        n_states += len(cases)
                        print(f"     {fid}: {len(cases)} states checked", flush=True)
                    problems += events
                    problems += [f"request to a non-localhost host: {u}" for u in external[n_ext:]]
                    page.close()
                    status = "ok  " if not problems else "FAIL"
                    print(f"{status} {mode}: {page_path} ({len(figures)} live figures)", flush=True)
                    for p in problems:
                        print(f"       - {p}", flush=True)
                    failures += [f"{mode}: {page_path}: {p}" for p in problems]
            # the fallback: core.js blocked, the static picture stays and its note says why
            if pages:
                page = context.new_page()
                page.route("**/lrbook-live/core.js*", lambda r: r.abort())
                page.goto(base_url + pages[0], wait_until="load", timeout=60_000)  # (routes miss file://)
                fallback = page.evaluate(FALLBACK_JS)
                page.close()
                bad = [f for f in fallback if f["ready"] or not f["failed"] or not f["image"]
                       or "could not start" not in f["note"]]
                if not fallback or bad:
                    failures.append(f"fallback with core.js blocked on {pages[0]}: {bad or 'no figures'}")
                print(f"{'FAIL' if not fallback or bad else 'ok  '} fallback (core.js blocked): {pages[0]}, "
                      f"{len(fallback)} figures keep their picture and say why", flush=True)
            browser.close()
    finally:
        server.shutdown()
    for mode in modes:
        for fid in sorted(set(fixtures["figures"]) - seen[mode]):
            failures.append(f"{mode}: live figure {fid} is on no page")
            print(f"FAIL {mode}: live figure {fid} is on no page")
    print(f"live figures check ({' and '.join(modes)}): {len(pages)} pages, "
          f"{len(set().union(*seen.values()))} figures, {n_states} states, {len(failures)} problems, "
          f"{time.perf_counter() - t_start:.1f}s; screenshots in {shots}")
    return 1 if failures or not pages else 0


if __name__ == "__main__":
    sys.exit(main())
