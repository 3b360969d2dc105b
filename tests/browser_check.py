"""Open every page of the built book in a real headless browser and check it.

Usage::

    .venv/bin/python tests/browser_check.py [_build/html] [--screenshots DIR] [--pages GLOB ...]

The HTML is served from 127.0.0.1 by Python's http.server (in a thread) and each
page is opened in Debian's ``/usr/bin/chromium``, driven by Playwright's Python
package (no browser is ever downloaded). A page fails when, after MathJax has
finished typesetting:

- raw TeX is left in the text (``$$``, ``\\(``, ``\\frac``, ``\\begin{``, other
  common macros, or an unrendered ``$...$``) outside code, or a math element was
  not typeset, or MathJax reports a TeX error;
- an ``<img>`` has ``naturalWidth`` 0 (missing or broken figure);
- an ``<img>`` in the page's content has no text alternative (``alt`` missing,
  empty, or just the file name), or a figure's image is wider than its column
  (clipped or scrolled at a 1280-px window);
- an output cell contains a traceback;
- the browser logs a console error or an uncaught exception, a request fails
  or gets an HTTP error status;
- a formula lacks MathJax's assistive MathML (what screen readers read);
- the page requests anything from a host other than localhost (CDNs included:
  the book must work offline);
- embedded ipywidgets views are present but never rendered;
- a figure (a raster or SVG ``<img>`` in the content, animation frames included) has
  a transparent background: any pixel with alpha < 255, found by drawing the image on
  a canvas in the page. The theme's dark mode would show dark text and axes on a
  dark background; figures must be opaque (white), as ``lrbook.plotting`` makes them.

Two screenshots of every page are written to ``_build/screenshots/`` (or
``--screenshots``): ``<page>.png``, the full page (its top 30 000 px) in the book's
light theme, and
``<page>.dark.png``, its top 6000 px in the theme's dark mode (``data-theme="dark"`` on ``<html>``, what the theme's
switch sets). Exit status 0 when every page passes, 1 otherwise.
This file is not collected by pytest (``make test`` runs it after the book build).
"""

from __future__ import annotations

import argparse
import fnmatch
import functools
import http.server
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
PAGE_TIMEOUT_MS = 60_000
MATHJAX_TIMEOUT_MS = 30_000
WIDGET_TIMEOUT_MS = 20_000
# screenshots stop there (the API reference is ~100 000 px tall: a picture of it all
# takes minutes on a loaded CPU and shows nothing more)
SCREENSHOT_PX = 30_000
DARK_SCREENSHOT_PX = 6000

# TeX that must never survive typesetting (checked in the text outside code)
RAW_TEX_PATTERNS = [
    (re.compile(r"\$\$"), "$$"),
    (re.compile(r"\\\("), r"\("),
    (re.compile(r"\\\["), r"\["),
    (re.compile(r"\\begin\{"), r"\begin{"),
    (
        re.compile(
            r"\\(?:frac|sqrt|theta|eta|alpha|beta|epsilon|varepsilon|lambda|nabla|"
            r"hat|mathbf|mathrm|mathbb|operatorname|sum|prod|cdot|odot|leftarrow|"
            r"partial|infty|le|ge|top)(?![A-Za-z])"
        ),
        "TeX macro",
    ),
    # an inline $...$ that MathJax did not typeset: "$x$", "$g_t^2$" (not "$5 and $10")
    (re.compile(r"(?<![\\$\w])\$[^\s$](?:[^$\n]{0,200}[^\s$\\])?\$(?![\w$])"), "$...$"),
]

# JavaScript run in the page ------------------------------------------------------------

WAIT_FOR_MATHJAX_JS = """
async () => {
  const mathNodes = document.querySelectorAll('.math, .amsmath, [class*="math notranslate"]');
  if (mathNodes.length === 0 && !window.MathJax) return {math: 0, present: false};
  const loader = document.querySelector('script[src*="mathjax" i]');
  if (!loader && !(window.MathJax && window.MathJax.startup))
    return {math: mathNodes.length, present: false};
  const t0 = Date.now();
  while (!(window.MathJax && window.MathJax.startup && window.MathJax.startup.promise)) {
    if (Date.now() - t0 > MATHJAX_TIMEOUT_MS) return {math: mathNodes.length, present: false};
    await new Promise(r => setTimeout(r, 50));
  }
  await window.MathJax.startup.promise;
  if (window.MathJax.typesetPromise) { await window.MathJax.typesetPromise(); }
  const untypeset = Array.from(mathNodes)
      .filter(e => !e.querySelector('mjx-container') && e.tagName !== 'MJX-CONTAINER')
      .map(e => e.textContent.trim().slice(0, 120));
  const errors = Array.from(document.querySelectorAll('mjx-merror'))
      .map(e => (e.getAttribute('data-mjx-error') || e.textContent).slice(0, 160));
  // an undefined macro is no error to MathJax (its "noundefined" package shows the name
  // in red): find those red texts in the typeset math's internal tree
  try {
    for (const item of window.MathJax.startup.document.math) {
      if (!item.root || !item.root.walkTree) continue;
      item.root.walkTree(node => {
        if (node.isKind && node.isKind('mtext') && node.attributes &&
            node.attributes.get('mathcolor') === 'red') {
          const text = node.childNodes.map(c => (c.getText ? c.getText() : (c.text || ''))).join('');
          if (text.charCodeAt(0) === 92)  // a backslash
            errors.push('undefined macro ' + text + ' in ' + String(item.math).slice(0, 100));
        }
      });
    }
  } catch (e) { errors.push('could not inspect the typeset math: ' + e); }
  return {math: mathNodes.length, present: true, version: window.MathJax.version,
          containers: document.querySelectorAll('mjx-container').length,
          untypeset: untypeset, errors: errors};
}
""".replace("MATHJAX_TIMEOUT_MS", str(MATHJAX_TIMEOUT_MS))

TEXT_OUTSIDE_CODE_JS = """
() => {
  const clone = document.body.cloneNode(true);
  clone.querySelectorAll(
    'pre, code, kbd, samp, script, style, textarea, mjx-container, mjx-assistive-mml, ' +
    '.highlight, .MathJax, .cell_output pre, .output.text_plain, .output.stream'
  ).forEach(e => e.remove());
  return clone.textContent;
}
"""

BROKEN_IMAGES_JS = r"""
async () => {
  const imgs = Array.from(document.images);
  imgs.forEach(img => { img.loading = 'eager'; });
  await Promise.all(imgs.map(img => img.complete ? null :
      new Promise(resolve => {
        img.addEventListener('load', resolve, {once: true});
        img.addEventListener('error', resolve, {once: true});
        setTimeout(resolve, 10000);
      })));
  const content = imgs.filter(img => img.closest('article, main, .bd-article'));
  const fileName = /\.(png|jpe?g|gif|svg|webp)$/i;
  return {count: imgs.length,
          broken: imgs.filter(img => img.naturalWidth === 0)
                      .map(img => (img.currentSrc || img.src || img.outerHTML).slice(0, 160)),
          noAlt: content.filter(img => {
                      const alt = (img.getAttribute('alt') || '').trim();
                      return !alt || fileName.test(alt);
                   }).map(img => (img.currentSrc || img.src || img.id || img.outerHTML).slice(0, 160))};
}
"""

TRACEBACKS_JS = """
() => {
  const bad = [];
  document.querySelectorAll('.output.traceback, .output.error').forEach(
      e => bad.push(e.textContent.trim().slice(0, 300)));
  document.querySelectorAll('.cell_output, .output').forEach(e => {
    if (e.textContent.includes('Traceback (most recent call last)'))
      bad.push(e.textContent.trim().slice(0, 300));
  });
  return Array.from(new Set(bad));
}
"""

WIDGETS_JS = """
async () => {
  const views = document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]');
  if (views.length === 0) return {views: 0, rendered: 0};
  const t0 = Date.now();
  const rendered = () => document.querySelectorAll('.jupyter-widgets, .widget-subarea, .lm-Widget').length;
  while (rendered() === 0 && Date.now() - t0 < WIDGET_TIMEOUT_MS) {
    await new Promise(r => setTimeout(r, 100));
  }
  return {views: views.length, rendered: rendered()};
}
""".replace("WIDGET_TIMEOUT_MS", str(WIDGET_TIMEOUT_MS))


# figures whose background is not opaque: drawn on a canvas (nearest-neighbour, at most
# 512 px a side, so that the alpha values are the image's own), any alpha < 255 fails
TRANSPARENT_IMAGES_JS = r"""
async () => {
  const imgs = Array.from(new Set(document.querySelectorAll(
      'article img, .bd-article img, main img')));
  const bad = [];
  let checked = 0;
  for (const img of imgs) {
    if (!img.complete || img.naturalWidth === 0) continue;
    const src = img.currentSrc || img.src || '';
    if (/\.jpe?g($|[?#])/i.test(src) || /^data:image\/jpe?g/i.test(src)) continue;  // no alpha
    const w = img.naturalWidth, h = img.naturalHeight;
    const k = Math.min(1, 512 / Math.max(w, h));
    const cw = Math.max(1, Math.round(w * k)), ch = Math.max(1, Math.round(h * k));
    const canvas = document.createElement('canvas');
    canvas.width = cw; canvas.height = ch;
    const ctx = canvas.getContext('2d', {willReadFrequently: true});
    ctx.imageSmoothingEnabled = false;
    let data;
    try { ctx.drawImage(img, 0, 0, cw, ch); data = ctx.getImageData(0, 0, cw, ch).data; }
    catch (e) { bad.push({src: src.slice(0, 160), why: 'could not read pixels: ' + e}); continue; }
    checked += 1;
    let clear = 0;
    for (let i = 3; i < data.length; i += 4) { if (data[i] < 255) clear += 1; }
    if (clear > 0) {
      const name = src.startsWith('data:') ? (img.id || img.alt || 'inline image').slice(0, 100) : src.slice(0, 160);
      bad.push({src: name, why: (100 * clear / (cw * ch)).toFixed(1) + '% of pixels not opaque'});
    }
  }
  return {checked: checked, bad: bad};
}
"""

DARK_MODE_JS = """
async () => {
  document.documentElement.dataset.theme = 'dark';
  document.documentElement.dataset.mode = 'dark';
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  return getComputedStyle(document.body).backgroundColor;
}
"""


# server ------------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass


def serve(root: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve ``root`` on 127.0.0.1 (a free port) from a daemon thread."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def find_pages(root: Path, patterns: list[str] | None = None) -> list[str]:
    """Every HTML page of the build (relative paths), skipping _static, _sources, ..."""
    pages = []
    for path in sorted(root.rglob("*.html")):
        rel = path.relative_to(root).as_posix()
        if any(part.startswith("_") or part.startswith(".") for part in rel.split("/")[:-1]):
            continue
        if patterns and not any(fnmatch.fnmatch(rel, p) for p in patterns):
            continue
        pages.append(rel)
    return pages


# checks ------------------------------------------------------------------------------


@dataclass
class PageResult:
    page: str
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def raw_tex_problems(text: str) -> list[str]:
    """Raw TeX found in ``text`` (the page text outside code), one message per pattern."""
    problems = []
    for pattern, name in RAW_TEX_PATTERNS:
        match = pattern.search(text)
        if match:
            start = max(match.start() - 40, 0)
            context = " ".join(text[start : match.end() + 40].split())
            problems.append(f"raw TeX ({name}) in text: ...{context}...")
    return problems


REFRESH_RE = re.compile(
    r"""<meta[^>]+http-equiv=["']?refresh["']?[^>]+content=["'][^"']*url=([^"'>\s]+)""", re.I
)


def redirect_target(root: Path, page_path: str) -> str | None:
    """Target of a ``<meta http-equiv="refresh">`` redirect page (like index.html), else None."""
    match = REFRESH_RE.search(
        (root / page_path).read_text(encoding="utf8", errors="replace")[:4000]
    )
    if not match:
        return None
    return (Path(page_path).parent / match.group(1).split("#")[0]).as_posix()


def check_page(context, base_url: str, page_path: str, screenshot_dir: Path) -> PageResult:
    result = PageResult(page_path)
    t0 = time.perf_counter()
    page = context.new_page()
    events: list[str] = []
    page.on(
        "console",
        lambda msg: (
            events.append(f"console {msg.type}: {msg.text[:300]}") if msg.type == "error" else None
        ),
    )
    page.on("pageerror", lambda exc: events.append(f"uncaught exception: {str(exc)[:300]}"))

    def on_request_failed(request) -> None:
        host = urlparse(request.url).hostname or ""
        if host in LOCAL_HOSTS:  # external ones are reported by the route handler
            events.append(f"request failed: {request.url} ({request.failure})")

    page.on("requestfailed", on_request_failed)
    page.on(
        "response",
        lambda resp: (
            events.append(f"HTTP {resp.status}: {resp.url}") if resp.status >= 400 else None
        ),
    )
    try:
        page.goto(base_url + page_path, wait_until="load", timeout=PAGE_TIMEOUT_MS)
        mathjax = page.evaluate(WAIT_FOR_MATHJAX_JS)
        if mathjax["math"] and not mathjax["present"]:
            result.problems.append(f"{mathjax['math']} math elements but MathJax never started")
        for snippet in mathjax.get("untypeset", []):
            result.problems.append(f"math not typeset: {snippet!r}")
        for error in mathjax.get("errors", []):
            result.problems.append(f"MathJax TeX error: {error!r}")
        if mathjax["present"]:
            result.notes.append(f"{mathjax.get('containers', 0)} formulas")
            # screen readers read the hidden MathML that MathJax's assistive-mml extension adds
            assistive = page.evaluate("() => document.querySelectorAll('mjx-assistive-mml').length")
            if mathjax.get("containers", 0) and assistive < mathjax.get("containers", 0):
                result.problems.append(
                    f"{mathjax.get('containers', 0) - assistive} formulas without assistive MathML"
                )
        result.problems += raw_tex_problems(page.evaluate(TEXT_OUTSIDE_CODE_JS))
        images = page.evaluate(BROKEN_IMAGES_JS)
        result.notes.append(f"{images['count']} images")
        result.problems += [f"image not loaded: {src}" for src in images["broken"]]
        result.problems += [f"image without alt text: {src}" for src in images["noAlt"]]
        result.problems += [f"traceback in output: {tb!r}" for tb in page.evaluate(TRACEBACKS_JS)]
        widgets = page.evaluate(WIDGETS_JS)
        if widgets["views"]:
            result.notes.append(f"{widgets['views']} widget views")
            if not widgets["rendered"]:
                result.problems.append(f"{widgets['views']} ipywidgets views never rendered")
        # let fonts, layout transitions and late console errors settle before the picture
        page.evaluate(
            "async () => { await document.fonts.ready; "
            "await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))); }"
        )
        page.wait_for_timeout(300)
        name = page_path.replace("/", "__").removesuffix(".html")
        height = page.evaluate("() => document.documentElement.scrollHeight")
        page.screenshot(
            path=str(screenshot_dir / f"{name}.png"),
            full_page=True,
            clip={"x": 0, "y": 0, "width": 1280, "height": min(height, SCREENSHOT_PX)},
            animations="disabled",
            timeout=PAGE_TIMEOUT_MS,
        )
        opacity = page.evaluate(TRANSPARENT_IMAGES_JS)
        result.notes.append(f"{opacity['checked']} checked for opacity")
        result.problems += [
            f"figure with a transparent background (unreadable in dark mode): {b['src']} ({b['why']})"
            for b in opacity["bad"]
        ]
        # the same page in the theme's dark mode
        background = page.evaluate(DARK_MODE_JS)
        if background in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)"):
            result.problems.append(f"dark mode did not switch the page background ({background})")
        page.wait_for_timeout(100)
        # the top of the page (at most DARK_SCREENSHOT_PX): the look of the theme; the
        # opacity check above covers every figure, however far down
        page.screenshot(
            path=str(screenshot_dir / f"{name}.dark.png"),
            full_page=True,
            clip={"x": 0, "y": 0, "width": 1280, "height": min(height, DARK_SCREENSHOT_PX)},
            animations="disabled",
            timeout=PAGE_TIMEOUT_MS,
        )
    except Exception as exc:  # a timeout or a crash is a failure of this page
        result.problems.append(f"could not check page: {type(exc).__name__}: {exc}")
    finally:
        page.close()
    result.problems += events
    result.seconds = time.perf_counter() - t0
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("html", nargs="?", default="_build/html", type=Path)
    parser.add_argument(
        "--screenshots",
        type=Path,
        default=None,
        help="folder for screenshots (default: <html>/../screenshots)",
    )
    parser.add_argument("--pages", nargs="*", default=None, help="only pages matching these globs")
    args = parser.parse_args(argv)

    root = args.html.resolve()
    if not (root / "index.html").exists():
        print(f"browser check: no built book at {root} (run the book build first)")
        return 1
    if not Path(CHROMIUM).exists():
        print(
            f"browser check: {CHROMIUM} is missing; install it with: "
            "sudo apt-get update && sudo apt-get install -y chromium"
        )
        return 1
    screenshot_dir = (args.screenshots or root.parent / "screenshots").resolve()
    screenshot_dir.mkdir(parents=True, exist_ok=True)
    pages = find_pages(root, args.pages)

    from playwright.sync_api import sync_playwright

    external: list[str] = []
    server, base_url = serve(root)
    t_start = time.perf_counter()
    results: list[PageResult] = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            context = browser.new_context(viewport={"width": 1280, "height": 900})

            def route(route_obj) -> None:
                url = route_obj.request.url
                parsed = urlparse(url)
                if (
                    parsed.scheme in ("http", "https", "ws", "wss")
                    and parsed.hostname not in LOCAL_HOSTS
                ):
                    external.append(url)
                    route_obj.abort()
                else:
                    route_obj.continue_()

            context.route("**/*", route)
            for page_path in pages:
                target = redirect_target(root, page_path)
                if target is not None:  # checked as its target page; only the link is verified
                    ok = (root / target).is_file()
                    print(
                        f"{'ok  ' if ok else 'FAIL'} {page_path:<45}         (redirects to {target})"
                    )
                    if not ok:
                        results.append(
                            PageResult(page_path, problems=[f"redirect to missing {target}"])
                        )
                    continue
                n_external = len(external)
                result = check_page(context, base_url, page_path, screenshot_dir)
                result.problems += [
                    f"request to a non-localhost host: {u}" for u in external[n_external:]
                ]
                # the aborted external requests also show up as console errors; keep one message
                if len(external) > n_external:
                    result.problems = [
                        p
                        for p in result.problems
                        if not p.startswith(
                            "console error: Failed to load resource: net::ERR_FAILED"
                        )
                    ]
                results.append(result)
                status = "ok  " if not result.problems else "FAIL"
                print(
                    f"{status} {page_path:<45} {result.seconds:6.1f}s  ({', '.join(result.notes)})",
                    flush=True,
                )
                for problem in result.problems:
                    print(f"       - {problem}", flush=True)
            browser.close()
    finally:
        server.shutdown()

    failed = [r for r in results if r.problems]
    total = time.perf_counter() - t_start
    print(
        f"browser check: {len(results)} pages, {len(failed)} failed, {total:.1f}s; "
        f"screenshots in {screenshot_dir}"
    )
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main())
