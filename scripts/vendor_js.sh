#!/usr/bin/env bash
# Re-create the vendored JavaScript in book/_static/ (see book/_static/VENDORED.txt).
# Needs npm and network access; run it only to upgrade the vendored packages.
# Usage: scripts/vendor_js.sh   (or: make vendor)
set -euo pipefail
cd "$(dirname "$0")/.."

MATHJAX=mathjax@3.2.2
HTML_MANAGER=@jupyter-widgets/html-manager@1.0.15   # ipywidgets 8
REQUIREJS=requirejs@2.3.8
FONTAWESOME4=font-awesome@4.7.0                     # icons of matplotlib's to_jshtml player

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm init -y >/dev/null && npm install --no-audit --no-fund --ignore-scripts \
    "$MATHJAX" "$HTML_MANAGER" "$REQUIREJS" "$FONTAWESOME4" >/dev/null)
nm="$tmp/node_modules"
static=book/_static

rm -rf "$static/mathjax" "$static/ipywidgets" "$static/fontawesome4"

# MathJax 3: one self-contained component (all TeX extensions built in) + CHTML fonts
mkdir -p "$static/mathjax/output/chtml/fonts"
cp "$nm/mathjax/es5/tex-chtml-full.js" "$nm/mathjax/LICENSE" "$static/mathjax/"
cp -r "$nm/mathjax/es5/output/chtml/fonts/woff-v2" "$static/mathjax/output/chtml/fonts/"

# ipywidgets embed manager (AMD build, loaded through require.js) + its icon fonts
mkdir -p "$static/ipywidgets"
cp "$nm/@jupyter-widgets/html-manager/dist/embed-amd.js" \
   "$nm/@jupyter-widgets/html-manager/dist/embed.js.LICENSE.txt" \
   "$nm/@jupyter-widgets/html-manager/dist/"*.woff2 \
   "$nm/@jupyter-widgets/html-manager/dist/"*.woff \
   "$nm/@jupyter-widgets/html-manager/dist/"*.ttf "$static/ipywidgets/"
cp "$nm/requirejs/require.js" "$static/ipywidgets/require.js"
cat > "$static/ipywidgets/assets_path.js" <<'JS'
// Point the vendored ipywidgets embed manager (embed-amd.js, loaded next) at the
// folder of this script, so it loads its font files from here, not from a CDN:
// its webpack public path comes from the require.js URI of its own module.
(function () {
  var here = document.currentScript.src.replace(/[^/]*$/, "");
  window.__jupyter_widgets_assets_path__ = here;
  if (window.requirejs) {
    window.requirejs.config({
      paths: { "@jupyter-widgets/html-manager/dist": here.replace(/\/$/, "") },
    });
  }
})();
JS

# Font Awesome 4 (CSS + web fonts) for the buttons of matplotlib's JavaScript animations
mkdir -p "$static/fontawesome4/css" "$static/fontawesome4/fonts"
cp "$nm/font-awesome/css/font-awesome.min.css" "$static/fontawesome4/css/"
cp "$nm/font-awesome/fonts/fontawesome-webfont.woff2" \
   "$nm/font-awesome/fonts/fontawesome-webfont.woff" "$static/fontawesome4/fonts/"
cp "$nm/font-awesome/README.md" "$static/fontawesome4/README.txt"

du -sh "$static"
