// Device approval page (RFC 8628 verification URI).
//
// Flow: the person enters (or arrives with ?user_code=) the code from their
// terminal -> GET /v1/oauth/device/lookup -> GET /console/api/session ->
// the authorize view, where only a click on Authorize or Deny sends
// POST /console/api/oauth/device/approve or .../deny. Nothing is ever
// approved automatically, whatever the URL says.
(function () {
  'use strict';

  var G = window.Gatehouse;
  var VIEWS = ['enter', 'signin', 'authorize', 'success', 'denied', 'invalid', 'ratelimited', 'error'];
  var ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
  var CODE_LENGTH = 8;
  var MAX_INPUT = 64;
  var BASE_TITLE = 'Approve device · Gatehouse';
  var GENERIC_ERROR = 'Something went wrong. Please try again.';

  var state = {
    code: '', // the 8 normalized letters being handled
    lookup: null, // the lookup response for state.code
    session: null, // the session response while signed in
    retryTimer: 0
  };

  function byId(id) {
    return document.getElementById(id);
  }

  var input = byId('user-code');
  var enterButton = byId('continue');
  var decisionButtons = [byId('approve'), byId('deny'), byId('signout'), byId('workspace')];

  // ---- Views ----

  function show(name) {
    VIEWS.forEach(function (v) {
      byId('view-' + v).hidden = v !== name;
    });
    if (name === 'enter') {
      input.focus();
      return;
    }
    var heading = byId('view-' + name).querySelector('h1');
    if (heading) {
      heading.focus();
    }
  }

  function showInvalid() {
    show('invalid');
  }

  function showError(message, r) {
    byId('error-message').textContent = message || GENERIC_ERROR;
    var code = r ? G.errorCode(r.data) : '';
    byId('error-code').textContent = code;
    byId('error-detail').hidden = code === '';
    show('error');
  }

  function showFailure(r) {
    if (r.status === 0) {
      showError('Could not reach Gatehouse. Check your connection and try again.', r);
      return;
    }
    showError(GENERIC_ERROR, r);
  }

  function showRateLimited(retryAfter) {
    var retry = byId('retry');
    byId('ratelimited-message').textContent = G.tooManyMessage(retryAfter) + '.';
    window.clearTimeout(state.retryTimer);
    retry.disabled = Boolean(retryAfter);
    if (retryAfter) {
      state.retryTimer = window.setTimeout(function () {
        retry.disabled = false;
      }, retryAfter * 1000);
    }
    show('ratelimited');
  }

  function showSignin() {
    state.session = null;
    var back = '/device?user_code=' + encodeURIComponent(state.code);
    byId('signin-code').textContent = formatCode(state.code);
    byId('signin-link').href = '/signin?next=' + encodeURIComponent(back);
    show('signin');
  }

  // ---- Codes ----

  // normalizeCode keeps only the letters, upper-cased: "bcdf ghjk" and
  // "BCDF-GHJK" both become "BCDFGHJK".
  function normalizeCode(raw) {
    return String(raw).slice(0, MAX_INPUT).replace(/[^A-Za-z]/g, '').toUpperCase();
  }

  function formatCode(letters) {
    return letters.length > 4 ? letters.slice(0, 4) + '-' + letters.slice(4) : letters;
  }

  // codeProblem explains what is wrong with a typed code before anything is
  // sent, or returns '' when it has the right shape.
  function codeProblem(letters) {
    if (letters.length !== CODE_LENGTH) {
      return 'Enter the 8 letters shown in your terminal, like BCDF-GHJK.';
    }
    for (var i = 0; i < letters.length; i++) {
      if (ALPHABET.indexOf(letters.charAt(i)) < 0) {
        return 'Check the code: codes never contain the letters A, E, I, O, U or Y.';
      }
    }
    return '';
  }

  function setInputError(message) {
    var error = byId('user-code-error');
    error.textContent = message;
    error.hidden = message === '';
    if (message) {
      input.setAttribute('aria-invalid', 'true');
    } else {
      input.removeAttribute('aria-invalid');
    }
  }

  function setEnterBusy(busy) {
    enterButton.disabled = busy;
    input.readOnly = busy;
    byId('enter-status').textContent = busy ? 'Checking the code…' : '';
  }

  // Reformat as the person types, but only when the caret is at the end so
  // editing in the middle is not disturbed.
  function onCodeInput() {
    setInputError('');
    var atEnd = input.selectionStart === input.value.length;
    if (atEnd) {
      input.value = formatCode(normalizeCode(input.value));
    }
  }

  function onEnterSubmit(event) {
    event.preventDefault();
    if (enterButton.disabled) {
      return;
    }
    submitCode(input.value);
  }

  function submitCode(raw) {
    var letters = normalizeCode(raw);
    input.value = formatCode(letters);
    var problem = raw.length > MAX_INPUT ? 'That is too long to be a code.' : codeProblem(letters);
    setInputError(problem);
    if (problem) {
      show('enter');
      return;
    }
    lookUp(letters);
  }

  // ---- Requests ----

  // lookUp checks the code, then who is signed in, keeping the enter view
  // busy until one of the other views takes over.
  async function lookUp(code) {
    state.code = code;
    state.lookup = null;
    setEnterBusy(true);
    try {
      await lookUpThenSession(code);
    } finally {
      setEnterBusy(false);
    }
  }

  async function lookUpThenSession(code) {
    var r = await G.fetchJSON('GET', '/v1/oauth/device/lookup?user_code=' + encodeURIComponent(code));
    if (r.status === 429) {
      showRateLimited(r.retryAfter);
      return;
    }
    if (r.status === 400 || r.status === 404 || (r.status === 200 && !(r.data && r.data.valid === true))) {
      showInvalid();
      return;
    }
    if (r.status !== 200) {
      showFailure(r);
      return;
    }
    state.lookup = r.data;
    document.title = formatCode(code) + ' · ' + BASE_TITLE;
    // Keep the code in the address bar so a reload or the sign-in detour
    // comes back to the same request.
    window.history.replaceState(null, '', window.location.pathname + '?user_code=' + encodeURIComponent(code));
    await loadSession();
  }

  async function loadSession() {
    var r = await G.fetchJSON('GET', '/console/api/session');
    if (r.status === 401) {
      showSignin();
      return;
    }
    if (r.status === 429) {
      showRateLimited(r.retryAfter);
      return;
    }
    if (r.status !== 200 || !isSession(r.data)) {
      showFailure(r);
      return;
    }
    state.session = r.data;
    renderAuthorize();
    show('authorize');
  }

  function isSession(data) {
    return Boolean(data && data.account && typeof data.account.email === 'string' &&
      typeof data.csrf_token === 'string');
  }

  async function decide(kind) {
    if (byId('approve').disabled) {
      return;
    }
    G.setBusy(decisionButtons, true);
    byId('authorize-status').textContent = kind === 'approve' ? 'Approving…' : 'Denying…';
    var r = await G.fetchJSON('POST', '/console/api/oauth/device/' + kind, {
      body: { user_code: state.code, workspace_id: selectedWorkspaceId() },
      csrf: state.session.csrf_token
    });
    byId('authorize-status').textContent = '';
    if (r.status === 200) {
      // The decision is final: the buttons stay disabled.
      show(kind === 'approve' ? 'success' : 'denied');
      return;
    }
    G.setBusy(decisionButtons, false);
    showDecisionFailure(r);
  }

  function showDecisionFailure(r) {
    switch (r.status) {
      case 401:
        showSignin();
        return;
      case 404:
        showInvalid();
        return;
      case 409:
        showError('This code was already approved or denied.', r);
        return;
      case 429:
        showRateLimited(r.retryAfter);
        return;
      default:
        showFailure(r);
    }
  }

  async function signOut() {
    G.setBusy(decisionButtons, true);
    byId('authorize-status').textContent = 'Signing out…';
    var r = await G.fetchJSON('POST', '/console/api/logout', { csrf: state.session.csrf_token });
    byId('authorize-status').textContent = '';
    G.setBusy(decisionButtons, false);
    // 401: the session was already gone, which is what was wanted.
    if ((r.status >= 200 && r.status < 300) || r.status === 401) {
      showSignin();
      return;
    }
    showDecisionFailure(r);
  }

  // ---- The authorize view ----

  function renderAuthorize() {
    var lookup = state.lookup;
    var session = state.session;
    var clientName = text(lookup.client_name) || text(lookup.client_id) || 'Unknown application';
    var clientId = text(lookup.client_id);
    byId('client-name').textContent = clientName;
    byId('client-id').textContent = clientId && clientId !== clientName ? '(' + clientId + ')' : '';

    var device = byId('device-label');
    device.textContent = text(lookup.device_label) || 'unnamed device';
    device.classList.toggle('muted', !text(lookup.device_label));

    byId('requester-ip').textContent = text(lookup.requester_ip) || 'unknown';
    byId('requested-age').textContent = requestedAgo(lookup.age_seconds);
    byId('expires-in').textContent = expiresIn(lookup.expires_in_remaining);
    byId('authorize-code').textContent = formatCode(state.code);
    byId('account-email').textContent = session.account.email;
    renderWorkspaces(Array.isArray(session.workspaces) ? session.workspaces : [], text(session.default_workspace_id));
    G.setBusy(decisionButtons, false);
  }

  function renderWorkspaces(workspaces, defaultId) {
    var select = byId('workspace');
    var usable = workspaces.filter(function (w) {
      return w && typeof w.id === 'string' && w.id !== '';
    });
    while (select.firstChild) {
      select.removeChild(select.firstChild);
    }
    usable.forEach(function (w) {
      var option = document.createElement('option');
      option.value = w.id;
      option.textContent = text(w.name) || w.id;
      option.selected = w.id === defaultId;
      select.appendChild(option);
    });
    byId('workspace-choice').hidden = usable.length < 2;
    byId('workspace-single').hidden = usable.length !== 1;
    byId('workspace-name').textContent = usable.length === 1 ? (text(usable[0].name) || usable[0].id) : '';
  }

  // selectedWorkspaceId is the chosen workspace, the only one, or the
  // session's default when the account has none listed.
  function selectedWorkspaceId() {
    var select = byId('workspace');
    if (select.options.length > 0) {
      return select.value;
    }
    return text(state.session.default_workspace_id);
  }

  function text(v) {
    return typeof v === 'string' ? v : '';
  }

  function requestedAgo(seconds) {
    var s = Math.max(0, Math.floor(Number(seconds) || 0));
    if (s < 5) {
      return 'just now';
    }
    if (s < 60) {
      return G.plural(s, 'second') + ' ago';
    }
    return G.plural(Math.floor(s / 60), 'minute') + ' ago';
  }

  function expiresIn(seconds) {
    var s = Math.floor(Number(seconds));
    if (!isFinite(s) || s <= 0) {
      return 'soon';
    }
    if (s < 60) {
      return 'in ' + G.plural(s, 'second');
    }
    return 'in ' + G.plural(Math.ceil(s / 60), 'minute');
  }

  // ---- Starting over ----

  function restart() {
    window.clearTimeout(state.retryTimer);
    state.lookup = null;
    state.session = null;
    document.title = BASE_TITLE;
    window.history.replaceState(null, '', window.location.pathname);
    setEnterBusy(false);
    setInputError('');
    show('enter');
    input.select();
  }

  // ---- Wiring ----

  byId('enter-form').addEventListener('submit', onEnterSubmit);
  input.addEventListener('input', onCodeInput);
  byId('approve').addEventListener('click', function () { decide('approve'); });
  byId('deny').addEventListener('click', function () { decide('deny'); });
  byId('signout').addEventListener('click', signOut);
  byId('restart-invalid').addEventListener('click', restart);
  byId('restart-error').addEventListener('click', restart);
  byId('retry').addEventListener('click', restart);

  // A code in the URL (verification_uri_complete) is filled in and looked
  // up, never approved: the person still has to press Authorize.
  var fromURL = new URLSearchParams(window.location.search).get('user_code');
  if (fromURL) {
    submitCode(fromURL);
  } else {
    input.focus();
  }
})();
