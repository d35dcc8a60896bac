/* Inside the framed search (/embed): tell the page framing us how tall we are. */
(function () {
  "use strict";
  if (window.parent === window) return;
  var last = 0;
  function report() {
    // The body's own height (not the viewport's), so the frame can shrink as well as grow.
    var height = Math.ceil(document.body.getBoundingClientRect().height);
    if (height === last) return;
    last = height;
    // Any origin may frame this page; the height is all it learns.
    window.parent.postMessage({ type: "clearinghouse:height", height: height }, "*");
  }
  window.addEventListener("load", report);
  window.addEventListener("resize", report);
  if (window.ResizeObserver) new ResizeObserver(report).observe(document.body);
  report();
})();
