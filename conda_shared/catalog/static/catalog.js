// The catalog's search: runs in the page over CATALOG_INDEX (search-index.js), no network.
// Results are built with textContent only: a name from disk never becomes markup.
(function () {
  "use strict";
  var index = window.CATALOG_INDEX;
  var names = Object.keys(index.packages).sort();
  var query = document.getElementById("query");
  var kernelOnly = document.getElementById("with-kernel");
  var results = document.getElementById("results");
  var status = document.getElementById("search-status");
  var SHOWN = 300;

  // "numpy", "numpy 1.26", "numpy=1.26" or "numpy==1.26": a name part, then a version prefix
  function parse(text) {
    var words = text.trim().toLowerCase().split(/\s+/).filter(Boolean);
    if (!words.length) { return null; }
    var pinned = words[0].match(/^([^=<>]+)=+(.*)$/);
    if (pinned) { return { name: pinned[1], version: pinned[2] }; }
    return { name: words[0], version: words[1] || "" };
  }

  function versionMatches(version, wanted) {
    return !wanted || version === wanted || version.lastIndexOf(wanted + ".", 0) === 0;
  }

  function search(wanted, withKernel) {
    var hits = [];
    names.forEach(function (name) {
      if (name.indexOf(wanted.name) === -1) { return; }
      var rows = index.packages[name];
      for (var i = 0; i < rows.length; i += 2) {
        var env = index.envs[rows[i]];
        if (!versionMatches(rows[i + 1], wanted.version) || (withKernel && !env[3])) { continue; }
        hits.push({ name: name, version: rows[i + 1], env: env, exact: name === wanted.name });
      }
    });
    hits.sort(function (a, b) {
      return (b.exact - a.exact) || a.name.localeCompare(b.name) ||
        a.env[1].localeCompare(b.env[1]) || a.env[0].localeCompare(b.env[0]);
    });
    return hits;
  }

  function show() {
    var wanted = parse(query.value);
    results.textContent = "";
    if (!wanted) { status.textContent = ""; return; }
    var hits = search(wanted, kernelOnly.checked);
    status.textContent = hits.length + (hits.length === 1 ? " match" : " matches") +
      (hits.length > SHOWN ? " (first " + SHOWN + " shown)" : "");
    hits.slice(0, SHOWN).forEach(function (hit) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = hit.env[2];
      link.textContent = hit.env[1];
      item.appendChild(link);
      item.appendChild(document.createTextNode(" (" + hit.env[0] + "): " + hit.name + " " + hit.version));
      if (hit.env[3]) {
        var badge = document.createElement("span");
        badge.className = "badge";
        badge.textContent = "kernel";
        item.appendChild(document.createTextNode(" "));
        item.appendChild(badge);
      }
      results.appendChild(item);
    });
  }

  query.addEventListener("input", show);
  kernelOnly.addEventListener("change", show);
  show();
}());
