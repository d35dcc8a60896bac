/* The clearinghouse partner snippet: puts a search from this site on any page.
 *
 *   <script src="https://HOST/embed.js" data-concern="grief" data-near="05401"></script>
 *
 * It adds an iframe of HOST/embed right after the script tag and sizes it to its content.
 * Height messages are accepted only from HOST's origin and only from that iframe.
 * Optional: data-q, data-near, data-concern, data-attendance, data-radius, data-title,
 * data-accent (a "#rrggbb" colour for buttons and links; ignored unless it reads on white),
 * data-lang ("es" for Spanish; else the reader's browser language decides).
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) return;
  var origin = new URL(script.src, document.baseURI).origin;
  var params = new URLSearchParams();
  ["q", "near", "concern", "attendance", "radius", "accent", "lang"].forEach(function (name) {
    var value = script.getAttribute("data-" + name);
    if (value) params.set(name, value);
  });
  var frame = document.createElement("iframe");
  frame.src = origin + "/embed" + (params.toString() ? "?" + params.toString() : "");
  frame.title = script.getAttribute("data-title") || "Find a support group";
  frame.style.width = "100%";
  frame.style.minHeight = "14rem";
  frame.style.border = "0";
  frame.style.display = "block";
  script.parentNode.insertBefore(frame, script.nextSibling);

  window.addEventListener("message", function (event) {
    if (event.origin !== origin || event.source !== frame.contentWindow) return;
    var data = event.data;
    if (!data || data.type !== "clearinghouse:height") return;
    var height = Number(data.height);
    if (height > 0 && height < 100000) frame.style.height = Math.ceil(height) + "px";
  });
})();
