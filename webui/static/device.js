// Device approval page (RFC 8628 verification URI).
//
// Flow: the person enters (or arrives with ?user_code=) the code from their
// terminal -> GET /v1/oauth/device/lookup -> GET /console/api/session ->
// the authorize view, where only a click on Authorize or Deny sends
// POST /console/api/oauth/device/approve or .../deny. Nothing is ever
// approved automatically, whatever the URL says.
//
// Number matching: a code that arrives in the URL (verification_uri_complete,
// or a link someone sent) is not trusted until the person picks it out of
// three on the match view, proving they see it on their own terminal. A
// wrong pick discards the link's code for good in this browser: the person
// must type the code instead. Typing a code, or picking it, marks it
// confirmed in localStorage, so the sign-in detour and the SSO round trip
// come back without asking again.
//
// SSO branch (when the lookup says "sso": true): the sign-in view offers a
// link to GET /v1/oauth/device/sso-initiate, a plain navigation through the
// organization's identity provider. It comes back as /device?sso_verified=1
// (the approval-grant cookie is set), or /device?sso_error=WORD. Then
// GET /v1/oauth/device/approval-context and the lookup fill the SSO
// authorize view, whose buttons send POST .../approve-external or
// .../deny-external with the grant's CSRF token.
(function () {
  'use strict';

  var G = window.Gatehouse;
  var VIEWS = ['enter', 'match', 'signin', 'authorize', 'sso-authorize', 'session-expired', 'success', 'denied', 'invalid',
    'ratelimited', 'error'];
  var ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
  var CODE_LENGTH = 8;
  var MAX_INPUT = 64;
  var BASE_TITLE = 'Approve device · Gatehouse';
  var GENERIC_ERROR = 'Something went wrong. Please try again.';
  var MARKS_KEY = 'gatehouse.device-codes';
  var MARK_TTL_MS = 60 * 60 * 1000; // longer than any code lives

  var state = {
    code: '', // the 8 normalized letters being handled
    lookup: null, // the lookup response for state.code
    session: null, // the session response while signed in
    grant: null, // the approval-context response after SSO
    afterMatch: null, // what a correct pick on the match view goes on to
    retryTimer: 0
  };

  function byId(id) {
    return document.getElementById(id);
  }

  var input = byId('user-code');
  var enterButton = byId('continue');
  var decisionButtons = [byId('approve'), byId('deny'), byId('signout'), byId('workspace')];
  var ssoButtons = [byId('sso-approve'), byId('sso-deny')];

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
    var sso = Boolean(state.lookup && state.lookup.sso === true);
    byId('sso-link').href = ssoInitiateURL(state.code);
    byId('sso-link').hidden = !sso;
    byId('signin-link').textContent = sso ? 'Sign in with a local account' : 'Sign in';
    byId('signin-link').classList.toggle('secondary', sso);
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
    submitCode(input.value, true);
  }

  // submitCode checks the code's shape and looks it up. typed is true when
  // the person typed it, which confirms it; a code from the URL is not.
  function submitCode(raw, typed) {
    var letters = normalizeCode(raw);
    input.value = formatCode(letters);
    var problem = raw.length > MAX_INPUT ? 'That is too long to be a code.' : codeProblem(letters);
    setInputError(problem);
    if (problem) {
      show('enter');
      return;
    }
    byId('enter-notice').hidden = true;
    if (typed) {
      markCode(letters, 'ok');
    }
    lookUp(letters);
  }

  // ---- Number matching ----

  // readMarks returns the remembered codes, {CODE: {s: 'ok'|'bad', t: ms}},
  // without the ones old enough to have expired.
  function readMarks() {
    var marks = {};
    try {
      var parsed = JSON.parse(window.localStorage.getItem(MARKS_KEY) || '{}');
      var now = Date.now();
      Object.keys(parsed || {}).forEach(function (code) {
        var m = parsed[code];
        if (m && (m.s === 'ok' || m.s === 'bad') && typeof m.t === 'number' && now - m.t < MARK_TTL_MS) {
          marks[code] = m;
        }
      });
    } catch (e) {
      // Storage off or damaged: nothing is remembered.
    }
    return marks;
  }

  var memoryMarks = {}; // used when localStorage is unavailable

  function codeMark(code) {
    var m = readMarks()[code] || memoryMarks[code];
    return m ? m.s : '';
  }

  // markCode remembers a code as confirmed ('ok': typed, or picked on the
  // match view) or as a link that failed the match ('bad'). Only typing
  // turns 'bad' into 'ok': confirmThen never offers a match for it again.
  function markCode(code, status) {
    var marks = readMarks();
    marks[code] = { s: status, t: Date.now() };
    memoryMarks[code] = marks[code];
    try {
      window.localStorage.setItem(MARKS_KEY, JSON.stringify(marks));
    } catch (e) {
      // Kept in memory only.
    }
  }

  // randomIndex is a uniform integer in [0, n) from the browser's CSPRNG.
  function randomIndex(n) {
    var buf = new Uint32Array(1);
    var limit = Math.floor(0x100000000 / n) * n;
    do {
      window.crypto.getRandomValues(buf);
    } while (buf[0] >= limit);
    return buf[0] % n;
  }

  // decoy is a random code of the same shape that differs from every code
  // in avoid.
  function decoy(avoid) {
    for (;;) {
      var letters = '';
      for (var i = 0; i < CODE_LENGTH; i++) {
        letters += ALPHABET.charAt(randomIndex(ALPHABET.length));
      }
      if (avoid.indexOf(letters) < 0) {
        return letters;
      }
    }
  }

  // showMatch asks which of three codes the terminal shows; then runs next.
  function showMatch(next) {
    state.afterMatch = next;
    var choices = [state.code];
    choices.push(decoy(choices));
    choices.push(decoy(choices));
    for (var i = choices.length - 1; i > 0; i--) {
      var j = randomIndex(i + 1);
      var tmp = choices[i];
      choices[i] = choices[j];
      choices[j] = tmp;
    }
    var box = byId('match-choices');
    while (box.firstChild) {
      box.removeChild(box.firstChild);
    }
    choices.forEach(function (code) {
      var b = document.createElement('button');
      b.type = 'button';
      b.className = 'button secondary code-choice';
      b.textContent = formatCode(code);
      b.setAttribute('data-code', formatCode(code));
      b.addEventListener('click', function () { pickCode(code); });
      box.appendChild(b);
    });
    show('match');
  }

  function pickCode(code) {
    if (code !== state.code) {
      matchFailed();
      return;
    }
    markCode(code, 'ok');
    var next = state.afterMatch;
    state.afterMatch = null;
    if (next) {
      next();
    }
  }

  // matchFailed forgets the link's code: only typing it goes on from here.
  function matchFailed() {
    markCode(state.code, 'bad');
    state.afterMatch = null;
    state.lookup = null;
    document.title = BASE_TITLE;
    window.history.replaceState(null, '', window.location.pathname);
    input.value = '';
    setInputError('');
    byId('enter-notice').hidden = false;
    show('enter');
  }

  // confirmThen runs next at once for a confirmed code, asks for a match
  // first for a code that came in a link, and refuses a link that already
  // failed its match.
  function confirmThen(next) {
    switch (codeMark(state.code)) {
      case 'ok':
        next();
        return;
      case 'bad':
        matchFailed();
        return;
      default:
        showMatch(next);
    }
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
    confirmThen(function () {
      // After SSO a mismatch sends the person to type the code; a typed
      // code that is the grant's own goes back to the SSO decision.
      if (state.grant && normalizeCode(state.grant.user_code) === code) {
        renderSSOAuthorize();
        show('sso-authorize');
        return;
      }
      loadSession();
    });
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

  // renderRequest fills the request details (application, device, IP, age,
  // expiry, code) of the local view (prefix '') or the SSO view ('sso-').
  function renderRequest(prefix, codeId) {
    var lookup = state.lookup;
    var clientName = text(lookup.client_name) || text(lookup.client_id) || 'Unknown application';
    var clientId = text(lookup.client_id);
    byId(prefix + 'client-name').textContent = clientName;
    byId(prefix + 'client-id').textContent = clientId && clientId !== clientName ? '(' + clientId + ')' : '';

    var device = byId(prefix + 'device-label');
    device.textContent = text(lookup.device_label) || 'unnamed device';
    device.classList.toggle('muted', !text(lookup.device_label));

    byId(prefix + 'requester-ip').textContent = text(lookup.requester_ip) || 'unknown';
    byId(prefix + 'requested-age').textContent = requestedAgo(lookup.age_seconds);
    byId(prefix + 'expires-in').textContent = expiresIn(lookup.expires_in_remaining);
    byId(codeId).textContent = formatCode(state.code);
  }

  function renderAuthorize() {
    var session = state.session;
    renderRequest('', 'authorize-code');
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

  // ---- The SSO branch ----

  function ssoInitiateURL(code) {
    return '/v1/oauth/device/sso-initiate?user_code=' + encodeURIComponent(code);
  }

  // SSO_ERRORS explains each fixed word /v1/device/sso-complete may send.
  var SSO_ERRORS = {
    invalid_assertion: 'The sign-in from your organization could not be verified. Start again from the code in your terminal.',
    assertion_expired: 'The sign-in with your organization took too long and expired. Start again from the code in your terminal.',
    issuer_not_allowed: 'Your organization’s identity provider is not allowed to approve devices on this Gatehouse.',
    missing_email: 'Your organization’s sign-in did not say who you are (no email address), so it cannot approve a device.',
    assertion_replayed: 'That sign-in was already used. Start again from the code in your terminal.',
    local_account: 'Your email belongs to a local Gatehouse account. Sign in with that account instead of single sign-on.'
  };

  function showSSOError(word) {
    window.history.replaceState(null, '', window.location.pathname);
    if (word === 'code_expired') {
      showInvalid();
      return;
    }
    var known = Object.prototype.hasOwnProperty.call(SSO_ERRORS, word);
    showError(known ? SSO_ERRORS[word] : GENERIC_ERROR, { data: { error: word } });
  }

  function showSessionExpired() {
    state.grant = null;
    var again = byId('sso-again');
    again.hidden = state.code === '';
    again.href = ssoInitiateURL(state.code);
    show('session-expired');
  }

  // loadSSOContext runs on the return from the identity provider: who
  // signed in (the grant cookie), then the code's details.
  async function loadSSOContext() {
    var r = await G.fetchJSON('GET', '/v1/oauth/device/approval-context');
    if (r.status === 401) {
      showSessionExpired();
      return;
    }
    if (r.status !== 200 || !isGrant(r.data)) {
      showFailure(r);
      return;
    }
    state.grant = r.data;
    state.code = normalizeCode(r.data.user_code);
    var l = await G.fetchJSON('GET', '/v1/oauth/device/lookup?user_code=' + encodeURIComponent(state.code));
    if (l.status === 429) {
      showRateLimited(l.retryAfter);
      return;
    }
    if (l.status !== 200 || !(l.data && l.data.valid === true)) {
      if (l.status === 400 || l.status === 404 || l.status === 200) {
        showInvalid();
      } else {
        showFailure(l);
      }
      return;
    }
    state.lookup = l.data;
    document.title = formatCode(state.code) + ' · ' + BASE_TITLE;
    // A link straight to sso-initiate skips the /device page, so the match
    // is asked here, before the decision, when this browser has not yet
    // confirmed the code.
    confirmThen(function () {
      renderSSOAuthorize();
      show('sso-authorize');
    });
  }

  function isGrant(data) {
    return Boolean(data && typeof data.subject_email === 'string' && typeof data.subject_issuer === 'string' &&
      typeof data.user_code === 'string' && typeof data.csrf_token === 'string');
  }

  function renderSSOAuthorize() {
    byId('sso-email').textContent = state.grant.subject_email;
    byId('sso-issuer').textContent = state.grant.subject_issuer;
    renderRequest('sso-', 'sso-code');
    G.setBusy(ssoButtons, false);
  }

  async function decideSSO(kind) {
    if (byId('sso-approve').disabled) {
      return;
    }
    G.setBusy(ssoButtons, true);
    byId('sso-authorize-status').textContent = kind === 'approve' ? 'Approving…' : 'Denying…';
    var r = await G.fetchJSON('POST', '/v1/oauth/device/' + kind + '-external', {
      body: { user_code: state.code },
      csrf: state.grant.csrf_token
    });
    byId('sso-authorize-status').textContent = '';
    if (r.status === 200) {
      // The grant is spent: a reload must not come back to this view.
      window.history.replaceState(null, '', window.location.pathname);
      show(kind === 'approve' ? 'success' : 'denied');
      return;
    }
    G.setBusy(ssoButtons, false);
    if (r.status === 401) {
      showSessionExpired();
      return;
    }
    showDecisionFailure(r);
  }

  // ---- Starting over ----

  function restart() {
    window.clearTimeout(state.retryTimer);
    state.lookup = null;
    state.session = null;
    state.grant = null;
    document.title = BASE_TITLE;
    window.history.replaceState(null, '', window.location.pathname);
    setEnterBusy(false);
    setInputError('');
    byId('enter-notice').hidden = true;
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
  byId('restart-expired').addEventListener('click', restart);
  byId('sso-approve').addEventListener('click', function () { decideSSO('approve'); });
  byId('sso-deny').addEventListener('click', function () { decideSSO('deny'); });
  byId('match-none').addEventListener('click', matchFailed);

  // A code in the URL (verification_uri_complete) is filled in and looked
  // up, then matched, never approved: the person still has to pick it and
  // press Authorize.
  // The return from SSO is read first; it never approves by itself either.
  var query = new URLSearchParams(window.location.search);
  var fromURL = query.get('user_code');
  if (query.get('sso_error')) {
    showSSOError(query.get('sso_error'));
  } else if (query.get('sso_verified')) {
    loadSSOContext();
  } else if (fromURL) {
    submitCode(fromURL, false);
  } else {
    input.focus();
  }
})();
