/* Progressive enhancement for the public site. Everything works without this file. */
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  // "Print this list" on the results page (the print stylesheet does the rest).
  function printButton() {
    var button = document.querySelector("[data-print]");
    if (!button || !window.print) return;
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  }

  // Concern suggestions while typing, from /concerns/suggest (a native datalist).
  function concernSuggestions() {
    var input = document.querySelector("input[data-suggest-url]");
    var list = document.getElementById("concern-suggestions");
    if (!input || !list || !window.fetch) return;
    var timer = null;
    var last = "";
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var text = input.value.trim();
        if (text.length < 2 || text === last) return;
        last = text;
        var url = input.dataset.suggestUrl;
        fetch(url + (url.indexOf("?") < 0 ? "?" : "&") + "q=" + encodeURIComponent(text), {
          headers: { Accept: "application/json" }
        })
          .then(function (response) { return response.ok ? response.json() : []; })
          .then(function (items) {
            list.textContent = "";
            items.forEach(function (item) {
              var option = document.createElement("option");
              option.value = item.label;
              if (item.parent) option.label = item.label + " (" + item.parent + ")";
              list.appendChild(option);
            });
          })
          .catch(function () { /* suggestions are optional */ });
      }, 150);
    });
  }

  // "Use my location": the browser's position, rounded to about 100 m, as the search point.
  // The page's words for what this script writes, in its language (data-text-* on <body>).
  function uiText(name, english) {
    return document.body.getAttribute("data-text-" + name) || english;
  }

  function useMyLocation() {
    var container = document.querySelector("[data-geo-container]");
    if (!container || !navigator.geolocation) return;
    var form = container.closest("form");
    var near = form.querySelector("input[name=near]");
    var lat = form.querySelector("input[data-geo=lat]");
    var lon = form.querySelector("input[data-geo=lon]");
    var status = container.querySelector("[data-geo-status]");
    var button = container.querySelector("[data-geo-button]");
    container.hidden = false;
    if (lat.value && lon.value && !near.value) {
      near.placeholder = uiText("your-location", "Your location");
      status.textContent = uiText("searching-near-you", "Searching near your location.");
    }
    button.addEventListener("click", function () {
      status.textContent = uiText("finding-you", "Finding your location…");
      navigator.geolocation.getCurrentPosition(
        function (position) {
          lat.value = position.coords.latitude.toFixed(3);
          lon.value = position.coords.longitude.toFixed(3);
          lat.disabled = false;
          lon.disabled = false;
          near.value = "";
          near.placeholder = uiText("your-location", "Your location");
          status.textContent = uiText(
            "found-you", "Got your approximate location. Press Search to find groups near you.");
        },
        function () {
          status.textContent = uiText(
            "not-found", "We couldn't get your location. Please type a ZIP code or city instead.");
        },
        { enableHighAccuracy: false, timeout: 10000, maximumAge: 600000 }
      );
    });
    near.addEventListener("input", function () {
      if (near.value.trim()) {
        lat.disabled = true;
        lon.disabled = true;
        lat.value = "";
        lon.value = "";
        near.placeholder = "";
        status.textContent = "";
      }
    });
  }

  // Filters: open on wide screens, folded on phones; changes apply at once (and say so).
  function filters() {
    var panel = document.querySelector("[data-filters]");
    if (!panel) return;
    if (window.matchMedia && !window.matchMedia("(min-width: 60rem)").matches) {
      panel.open = false;
    }
    var body = panel.querySelector(".filters__body");
    var note = document.createElement("p");
    note.className = "hint";
    note.textContent = uiText("filters-apply-at-once", "Results update as soon as you change a filter.");
    body.insertBefore(note, body.firstChild);
    var apply = panel.querySelector("[data-apply]");
    if (apply) apply.classList.add("visually-hidden");
    panel.querySelectorAll("[data-autosubmit]").forEach(function (control) {
      control.addEventListener("change", function () {
        try { sessionStorage.setItem("focus-after-filter", control.id); } catch (e) { /* private mode */ }
        var form = control.form;
        if (form.requestSubmit) form.requestSubmit(); else form.submit();
      });
    });
    var focusId = null;
    try {
      focusId = sessionStorage.getItem("focus-after-filter");
      sessionStorage.removeItem("focus-after-filter");
    } catch (e) { /* private mode */ }
    var target = focusId && document.getElementById(focusId);
    if (target) {
      var more = target.closest("details");
      while (more) { more.open = true; more = more.parentElement.closest("details"); }
      target.focus();
    }
  }

  // The map: markers from the result list's data attributes; the list works without it.
  function resultsMap() {
    var element = document.getElementById("results-map");
    if (!element || !window.L) return;
    var cards = document.querySelectorAll("#results-list [data-lat][data-lon]");
    if (!cards.length) return;
    element.hidden = false;
    var map = window.L.map(element, { scrollWheelZoom: false });
    window.L.tileLayer(element.dataset.tileUrl, {
      maxZoom: 18,
      attribution: element.dataset.attribution
    }).addTo(map);
    var points = [];
    cards.forEach(function (card) {
      var point = [parseFloat(card.dataset.lat), parseFloat(card.dataset.lon)];
      if (isNaN(point[0]) || isNaN(point[1])) return;
      points.push(point);
      var link = document.createElement("a");
      link.href = card.dataset.url;
      link.textContent = card.dataset.name;
      window.L.marker(point, { title: card.dataset.name, alt: card.dataset.name })
        .addTo(map)
        .bindPopup(link);
    });
    element.dataset.markers = String(points.length);
    if (points.length === 1) map.setView(points[0], 13);
    else map.fitBounds(points, { padding: [30, 30], maxZoom: 14 });
  }

  function focusErrorSummary() {
    var summary = document.querySelector("[data-error-summary]");
    if (summary) summary.focus();
  }

  // Your time: search forms carry the browser's zone (`tz`) so the server can show online and
  // phone groups' times in it when no place was searched; times the server could not convert
  // (marked data-your-time) get "(6:00 pm your time)" here. Without this file the group's own
  // zone is shown, which is always right.
  function yourTime() {
    var zone;
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
    if (!zone) return;
    document.querySelectorAll("form[role=search]").forEach(function (form) {
      if (form.querySelector("input[name=tz]")) return;
      var field = document.createElement("input");
      field.type = "hidden";
      field.name = "tz";
      field.value = zone;
      form.appendChild(field);
    });
    var parts;
    try {
      parts = new Intl.DateTimeFormat("en-US", {
        timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
        weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23"
      });
      var weekday = new Intl.DateTimeFormat(document.documentElement.lang || "en", {
        timeZone: zone, weekday: "short"
      });
    } catch (e) { return; }
    document.querySelectorAll("time[data-your-time]").forEach(function (element) {
      var iso = element.getAttribute("datetime") || "";
      var moment = new Date(iso);
      if (isNaN(moment.getTime()) || iso.length < 16) return;
      var seen = {};
      parts.formatToParts(moment).forEach(function (part) { seen[part.type] = part.value; });
      var day = seen.year + "-" + seen.month + "-" + seen.day;
      var clock = seen.hour + ":" + seen.minute;
      if (day === iso.slice(0, 10) && clock === iso.slice(11, 16)) return;
      var hour = parseInt(seen.hour, 10);
      var text = (hour % 12 || 12) + ":" + seen.minute + " " + (hour < 12 ? uiText("am", "am") : uiText("pm", "pm"));
      if (day !== iso.slice(0, 10)) text = weekday.format(moment).replace(".", "") + " " + text;
      var label = document.createElement("span");
      label.className = "your-time";
      label.textContent = " (" + uiText("your-time", "{time} your time").replace("{time}", text) + ")";
      element.removeAttribute("data-your-time");
      element.parentNode.insertBefore(label, element.nextSibling);
    });
  }

  ready(function () {
    concernSuggestions();
    useMyLocation();
    filters();
    resultsMap();
    focusErrorSummary();
    yourTime();
  });
})();
