// My devices (/account/devices): the command-line tools signed in as the
// current account, each with a Revoke button, and Revoke all behind a
// second, confirming button.
//
// Talks to GET /console/api/session, GET /console/api/devices,
// POST /console/api/devices/revoke {token_id}, POST .../revoke-all and
// POST /console/api/logout. Everything it shows is set with textContent.
(function () {
  'use strict';

  var G = window.Gatehouse;
  var C = window.GatehouseConsole;
  var byId = C.byId;
  var VIEWS = ['view-loading', 'view-signin', 'view-list', 'view-error'];

  var state = {
    session: null,
    devices: []
  };

  var list = byId('device-list');

  function show(id) {
    C.showView(VIEWS, id);
  }

  function showError(r) {
    byId('error-message').textContent = C.failureMessage(r);
    show('view-error');
    byId('retry').focus();
  }

  function showSignin() {
    state.session = null;
    show('view-signin');
  }

  function setStatus(message) {
    byId('list-status').textContent = message;
  }

  // ---- Loading ----

  async function load() {
    var s = await G.fetchJSON('GET', '/console/api/session');
    if (s.status === 401) {
      showSignin();
      return;
    }
    if (s.status !== 200 || !C.isSession(s.data)) {
      showError(s);
      return;
    }
    state.session = s.data;
    var r = await G.fetchJSON('GET', '/console/api/devices');
    if (r.status === 401) {
      showSignin();
      return;
    }
    if (r.status !== 200 || !r.data || !Array.isArray(r.data.devices)) {
      showError(r);
      return;
    }
    // Everything below the heading appears in one go.
    C.showAccount(state.session);
    render(r.data.devices);
    show('view-list');
  }

  // ---- Rendering ----

  function render(devices) {
    state.devices = devices.filter(function (d) {
      return d && typeof d.id === 'string' && d.id !== '';
    });
    while (list.firstChild) {
      list.removeChild(list.firstChild);
    }
    state.devices.forEach(function (d) {
      list.appendChild(deviceItem(d));
    });
    updateSummary();
  }

  function labelOf(d) {
    return C.text(d.device_label) || 'Unnamed device';
  }

  function deviceItem(d) {
    var li = C.clone('device-template');
    li.setAttribute('data-token-id', d.id);
    var label = C.fill(li, '.device-label', labelOf(d));
    label.classList.toggle('muted', !C.text(d.device_label));
    var client = C.text(d.client_name) || C.text(d.client_id);
    var id = C.text(d.client_id);
    C.fill(li, '.device-client', client + (id && id !== client ? ' (' + id + ')' : ''));
    C.setTime(li.querySelector('.created'), d.created_at);
    C.setTime(li.querySelector('.last-used'), d.last_used_at, 'never');
    C.setTime(li.querySelector('.expires'), d.expires_at);
    C.fill(li, '.prefix', C.text(d.prefix) ? C.text(d.prefix) + '…' : '');
    var button = li.querySelector('.revoke');
    button.setAttribute('aria-label', 'Revoke ' + labelOf(d) + ' (' + client + ')');
    button.addEventListener('click', function () {
      revoke(d, li, button);
    });
    return li;
  }

  function updateSummary() {
    var n = state.devices.length;
    byId('device-count').textContent = n === 0 ? '' : G.plural(n, 'device') + ' signed in as you.';
    byId('device-count').hidden = n === 0;
    byId('empty').hidden = n !== 0;
    byId('revoke-all-area').hidden = n === 0;
    closeConfirm(false);
  }

  // ---- Revoking ----

  async function revoke(d, li, button) {
    if (button.disabled) {
      return;
    }
    button.disabled = true;
    button.textContent = 'Revoking…';
    var r = await G.fetchJSON('POST', '/console/api/devices/revoke', {
      body: { token_id: d.id },
      csrf: state.session.csrf_token
    });
    if (r.status === 200 || r.status === 404) {
      removeItem(d, li);
      setStatus(r.status === 200
        ? 'Revoked ' + labelOf(d) + '. That terminal has to sign in again.'
        : labelOf(d) + ' was already signed out.');
      return;
    }
    button.disabled = false;
    button.textContent = 'Revoke';
    if (r.status === 401) {
      showSignin();
      return;
    }
    setStatus('Could not revoke ' + labelOf(d) + '. ' + C.failureMessage(r));
  }

  // removeItem drops a revoked device and moves focus to its neighbour, so
  // a keyboard user keeps their place.
  function removeItem(d, li) {
    var next = li.nextElementSibling || li.previousElementSibling;
    list.removeChild(li);
    state.devices = state.devices.filter(function (x) {
      return x.id !== d.id;
    });
    updateSummary();
    if (next) {
      next.querySelector('.revoke').focus();
    } else {
      byId('devices-title').focus();
    }
  }

  function openConfirm() {
    var n = state.devices.length;
    byId('confirm-all-text').textContent = 'Revoke ' + (n === 1 ? 'the only device' : 'all ' + n + ' devices') +
      '? Every terminal signed in as you will have to sign in again.';
    byId('revoke-all').hidden = true;
    byId('confirm-all').hidden = false;
    byId('confirm-all-yes').focus();
  }

  function closeConfirm(refocus) {
    byId('confirm-all').hidden = true;
    byId('revoke-all').hidden = false;
    G.setBusy([byId('confirm-all-yes'), byId('confirm-all-no')], false);
    if (refocus) {
      byId('revoke-all').focus();
    }
  }

  async function revokeAll() {
    var yes = byId('confirm-all-yes');
    if (yes.disabled) {
      return;
    }
    G.setBusy([yes, byId('confirm-all-no')], true);
    setStatus('Revoking all devices…');
    var r = await G.fetchJSON('POST', '/console/api/devices/revoke-all', { csrf: state.session.csrf_token });
    if (r.status === 401) {
      showSignin();
      return;
    }
    if (r.status !== 200 || !r.data) {
      G.setBusy([yes, byId('confirm-all-no')], false);
      setStatus('Could not revoke your devices. ' + C.failureMessage(r));
      return;
    }
    var n = Number(r.data.revoked) || 0;
    render([]);
    setStatus('Revoked ' + G.plural(n, 'device') + '. Every terminal has to sign in again.');
    byId('devices-title').focus();
  }

  async function onSignOut() {
    var button = byId('signout');
    button.disabled = true;
    var ok = await C.signOut(state.session.csrf_token);
    button.disabled = false;
    if (ok) {
      showSignin();
      byId('signin-link').focus();
      return;
    }
    setStatus('Could not sign out. Please try again.');
  }

  // ---- Wiring ----

  byId('revoke-all').addEventListener('click', openConfirm);
  byId('confirm-all-no').addEventListener('click', function () { closeConfirm(true); });
  byId('confirm-all-yes').addEventListener('click', revokeAll);
  byId('signout').addEventListener('click', onSignOut);
  byId('retry').addEventListener('click', function () {
    show('view-loading');
    load();
  });
  load();
})();
