// Staff console: confirmations, select-all, geocode preview with a map pin.
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });

  document.querySelectorAll("[data-check-all]").forEach(function (box) {
    box.addEventListener("change", function () {
      var name = box.getAttribute("data-check-all");
      box.form.querySelectorAll('input[name="' + name + '"]').forEach(function (item) {
        item.checked = box.checked;
      });
    });
  });

  var mapElement = document.getElementById("map");
  var map = null;
  var marker = null;

  function showPin(lat, lon, label) {
    if (!mapElement || typeof L === "undefined") return;
    if (!map) {
      map = L.map(mapElement);
      var tiles = mapElement.getAttribute("data-tiles");
      if (tiles) {
        L.tileLayer(tiles, { maxZoom: 18, attribution: "© OpenStreetMap contributors" }).addTo(map);
      }
    }
    map.setView([lat, lon], 13);
    if (marker) marker.remove();
    marker = L.marker([lat, lon]).addTo(map);
    if (label) marker.bindPopup(label);
  }

  if (mapElement && mapElement.hasAttribute("data-lat")) {
    showPin(parseFloat(mapElement.getAttribute("data-lat")),
      parseFloat(mapElement.getAttribute("data-lon")), "");
  }

  var preview = document.getElementById("geocode-preview");
  if (preview) {
    var output = document.getElementById("geocode-result");
    var value = function (name) {
      var element = document.getElementById(name);
      return element ? element.value : "";
    };
    var pinned = document.getElementById("pin_coordinates");
    if (pinned && pinned.checked && value("location_lat") && value("location_lon")) {
      showPin(parseFloat(value("location_lat")), parseFloat(value("location_lon")), "");
    }
    preview.addEventListener("click", function () {
      var params = new URLSearchParams({
        address: value("location_address"),
        city: value("location_city"),
        region: value("location_region"),
        postal_code: value("location_postal_code"),
        country: value("location_country")
      });
      output.textContent = "Looking…";
      fetch(preview.getAttribute("data-url") + "?" + params.toString(), {
        credentials: "same-origin",
        headers: { Accept: "application/json" }
      })
        .then(function (response) { return response.json(); })
        .then(function (place) {
          if (!place.found) {
            output.textContent = place.message;
            return;
          }
          output.textContent = place.label + " (" + place.lat + ", " + place.lon + ")" +
            (place.approximate ? " — approximate: the centre of the ZIP code or city" : "") +
            (place.timezone ? " · " + place.timezone : "");
          if (!(pinned && pinned.checked)) {
            document.getElementById("location_lat").value = place.lat;
            document.getElementById("location_lon").value = place.lon;
          }
          showPin(place.lat, place.lon, place.label);
        })
        .catch(function () { output.textContent = "The preview is not available right now."; });
    });
  }
})();
