// The HTML report's only script, inlined by remediation/output/html_page.py and allowed by its CSP hash:
// filter, search and sort the cluster table, the state kept in the URL fragment.
(function () {
  var table = document.getElementById("clusters");
  if (!table) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var status = document.getElementById("f-status");
  var sub = document.getElementById("f-sub");
  var query = document.getElementById("f-q");
  var shown = document.getElementById("shown");
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  document.getElementById("controls").hidden = false;
  function read() {
    var state = {};
    location.hash.slice(1).split("&").forEach(function (pair) {
      var i = pair.indexOf("=");
      if (i > 0) { state[pair.slice(0, i)] = decodeURIComponent(pair.slice(i + 1)); }
    });
    return state;
  }
  function write(key, value) {
    var state = read();
    if (value) { state[key] = value; } else { delete state[key]; }
    location.hash = Object.keys(state).map(function (k) {
      return k + "=" + encodeURIComponent(state[k]);
    }).join("&");
  }
  function apply() {
    var state = read();
    var sort = state.sort || "";
    var desc = sort.charAt(0) === "-";
    var key = desc ? sort.slice(1) : sort;
    var needle = (state.q || "").toLowerCase();
    status.value = state.status || "";
    sub.value = state.sub || "";
    if (query.value.toLowerCase() !== needle) { query.value = state.q || ""; }
    var order = rows.slice();
    if (key) {
      order.sort(function (a, b) {
        var x = a.getAttribute("data-" + key) || "", y = b.getAttribute("data-" + key) || "";
        return (x < y ? -1 : x > y ? 1 : 0) * (desc ? -1 : 1);
      });
    }
    var count = 0;
    order.forEach(function (row) {
      body.appendChild(row);
      var visible = (!state.status || row.getAttribute("data-status") === state.status) &&
        (!state.sub || row.getAttribute("data-sub") === state.sub) &&
        (!needle || row.getAttribute("data-name").indexOf(needle) >= 0);
      row.hidden = !visible;
      if (visible) { count += 1; }
    });
    heads.forEach(function (th) {
      var k = th.getAttribute("data-key");
      if (k && k === key) { th.setAttribute("aria-sort", desc ? "descending" : "ascending"); }
      else { th.removeAttribute("aria-sort"); }
    });
    shown.textContent = count + " of " + rows.length + " clusters shown";
  }
  status.addEventListener("change", function () { write("status", status.value); });
  sub.addEventListener("change", function () { write("sub", sub.value); });
  query.addEventListener("input", function () { write("q", query.value); });
  heads.forEach(function (th) {
    var k = th.getAttribute("data-key");
    var button = th.querySelector("button");
    if (!k || !button) { return; }
    button.addEventListener("click", function () {
      write("sort", read().sort === k ? "-" + k : k);
    });
  });
  window.addEventListener("hashchange", apply);
  apply();
})();
