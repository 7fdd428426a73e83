// ledgerui: refresh the page's content every data-refresh milliseconds by
// fetching its fragment (?fragment=1) and swapping it in. No inline script:
// the page's Content-Security-Policy allows this file only.
(function () {
  'use strict';
  var live = document.getElementById('live');
  var ms = parseInt(document.body.getAttribute('data-refresh'), 10);
  if (!live || !(ms > 0)) {
    return;
  }
  var busy = false;
  function tick() {
    if (busy) {
      return;
    }
    busy = true;
    var u = new URL(window.location.href);
    u.searchParams.set('fragment', '1');
    fetch(u.toString(), { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) {
        if (!r.ok && r.status !== 404) {
          throw new Error('HTTP ' + r.status);
        }
        return r.text();
      })
      .then(function (html) {
        live.innerHTML = html;
        live.removeAttribute('data-stale');
      })
      .catch(function () {
        live.setAttribute('data-stale', 'true');
      })
      .then(function () {
        busy = false;
      });
  }
  window.setInterval(tick, ms);
})();
