// The data browser's column choice, remembered per entity set in this browser's
// localStorage: a page opened with "col" parameters stores them ("col=*" forgets them); a
// page opened without any is sent to the same URL with the stored ones. No inline script:
// the Content-Security-Policy allows scripts from this origin only.
(function () {
  var mem = document.getElementById('columns-memory');
  if (!mem) return;
  var key = 'bcconnector.columns.' + mem.dataset.set;
  var url = new URL(window.location.href);
  var cols = url.searchParams.getAll('col');
  try {
    if (cols.length > 0) {
      if (cols.indexOf('*') >= 0) window.localStorage.removeItem(key);
      else window.localStorage.setItem(key, JSON.stringify(cols));
      return;
    }
    var stored = JSON.parse(window.localStorage.getItem(key) || '[]');
    if (!Array.isArray(stored) || stored.length === 0) return;
    stored.forEach(function (c) { if (typeof c === 'string') url.searchParams.append('col', c); });
    window.location.replace(url.toString());
  } catch (e) {
    // No storage (private mode, quota): the URL alone carries the choice.
  }
})();
