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
