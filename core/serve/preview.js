// Rapport live preview: keeps this page current while rapport watch runs.
(function () {
  'use strict';
  var token = new URLSearchParams(location.search).get('t') || '';
  var q = '?t=' + encodeURIComponent(token);
  var status = document.getElementById('rp-status');
  var frame = document.getElementById('rp-note');
  var overlay = document.getElementById('rp-overlay');
  var errors = document.getElementById('rp-errors');
  var title = document.getElementById('rp-title');
  var shown = frame ? frame.getAttribute('data-version') : null;
  var busy = false;
  var again = false;

  function setStatus(text) {
    if (status) status.textContent = text;
  }

  function showErrors(text) {
    errors.textContent = text;
    overlay.hidden = false;
    frame.hidden = true;
  }

  function showNote(version) {
    overlay.hidden = true;
    errors.textContent = '';
    if (version !== shown) {
      shown = version;
      frame.src = location.pathname + '/page' + q + '&v=' + encodeURIComponent(version);
    }
    frame.hidden = false;
  }

  // One request at a time; a change during a request asks for one more.
  function check() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    fetch(location.pathname + '/state' + q, { cache: 'no-store' })
      .then(function (r) {
        if (r.status === 404) return { status: 'removed' };
        if (!r.ok) throw new Error('HTTP ' + r.status);
        return r.json();
      })
      .then(function (s) {
        if (s.status === 'ok') showNote(String(s.version));
        else if (s.status === 'error') showErrors(String(s.errors || ''));
        else showErrors('This note is no longer part of the watch.');
        if (title && typeof s.title === 'string') title.textContent = s.title;
      })
      .catch(function () {
        setStatus('disconnected');
      })
      .then(function () {
        busy = false;
        if (again) {
          again = false;
          check();
        }
      });
  }

  function changed() {
    if (frame) check();
    else location.reload();
  }

  var reconnect = false;
  var events = new EventSource('/_/events' + q);
  events.addEventListener('open', function () {
    setStatus('live');
    // Changes made while the stream was down were not announced.
    if (reconnect) changed();
    reconnect = true;
  });
  events.addEventListener('changed', changed);
  events.addEventListener('error', function () {
    if (events.readyState === EventSource.CLOSED)
      setStatus('stopped: open the address rapport watch prints when it runs again');
    else setStatus('reconnecting...');
  });
  if (frame) check();
})();
