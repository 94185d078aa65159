// Device approval page (RFC 8628 verification URI): what happens when.
// codes.js knows codes and what this browser remembers of them;
// device-views.js draws the views; this file makes the requests.
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
// must type the code instead. Typing a code, or picking it, confirms it, so
// the sign-in detour, the SSO round trip, an SSO refusal and a rate limit
// all come back to it without asking again. The tab title names the code
// only once it is confirmed, so the title cannot give away the match.
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
  var Codes = window.GatehouseCodes;
  var V = window.GatehouseDeviceViews;
  var BASE_TITLE = 'Approve device · Gatehouse';

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

  var show = V.show;

  function showInvalid() {
    Codes.forget();
    show('invalid');
  }

  function showError(message, r) {
    V.error(message, r);
    show('error');
  }

  function showFailure(r) {
    if (r.status === 0) {
      showError('Could not reach Gatehouse. Check your connection and try again.', r);
      return;
    }
    showError(V.genericError, r);
  }

  function showRateLimited(retryAfter) {
    var retry = byId('retry');
    V.rateLimited(retryAfter);
    window.clearTimeout(state.retryTimer);
    retry.disabled = Boolean(retryAfter);
    if (retryAfter) {
      state.retryTimer = window.setTimeout(function () {
        retry.disabled = false;
      }, retryAfter * 1000);
    }
    show('ratelimited');
  }

  function ssoOn() {
    return Boolean(state.lookup && state.lookup.sso === true);
  }

  function showSignin() {
    state.session = null;
    V.signin(state.code, ssoOn());
    show('signin');
  }

  // showSessionExpired: a sign-in ended before the decision, so nothing was
  // approved; kind is 'local' or 'sso'.
  function showSessionExpired(kind) {
    state.session = null;
    state.grant = null;
    V.sessionExpired(kind, state.code || Codes.current(), kind === 'sso' || ssoOn());
    show('session-expired');
  }

  // confirmed shows the code in the tab title once the person has proven
  // they have it (typed or picked), never before.
  function confirmed(code) {
    document.title = Codes.format(code) + ' · ' + BASE_TITLE;
  }

  // ---- Code entry ----

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
    if (input.selectionStart === input.value.length) {
      input.value = Codes.format(Codes.normalize(input.value));
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
    var letters = Codes.normalize(raw);
    input.value = Codes.format(letters);
    var problem = Codes.problem(raw);
    setInputError(problem);
    if (problem) {
      show('enter');
      return;
    }
    byId('enter-notice').hidden = true;
    if (typed) {
      Codes.mark(letters, 'ok');
    }
    lookUp(letters);
  }

  // ---- Number matching ----

  // showMatch asks which of three codes the terminal shows; then runs next.
  function showMatch(next) {
    state.afterMatch = next;
    var box = byId('match-choices');
    while (box.firstChild) {
      box.removeChild(box.firstChild);
    }
    Codes.choices(state.code).forEach(function (code) {
      var b = document.createElement('button');
      b.type = 'button';
      b.className = 'button secondary code-choice';
      b.textContent = Codes.format(code);
      b.setAttribute('data-code', Codes.format(code));
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
    Codes.mark(code, 'ok');
    var next = state.afterMatch;
    state.afterMatch = null;
    confirmed(code);
    if (next) {
      next();
    }
  }

  // matchFailed forgets the link's code: only typing it goes on from here.
  function matchFailed() {
    Codes.mark(state.code, 'bad');
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
    switch (Codes.markOf(state.code)) {
      case 'ok':
        confirmed(state.code);
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

  // fetchLookup asks about code and shows the view for any answer but a
  // valid one; it returns the lookup, or null when it showed a view.
  async function fetchLookup(code) {
    var r = await G.fetchJSON('GET', '/v1/oauth/device/lookup?user_code=' + encodeURIComponent(code));
    if (r.status === 429) {
      showRateLimited(r.retryAfter);
      return null;
    }
    if (r.status === 400 || r.status === 404 || (r.status === 200 && !(r.data && r.data.valid === true))) {
      showInvalid();
      return null;
    }
    if (r.status !== 200) {
      showFailure(r);
      return null;
    }
    return r.data;
  }

  async function lookUpThenSession(code) {
    state.lookup = await fetchLookup(code);
    if (!state.lookup) {
      return;
    }
    // Keep the code in the address bar so a reload or the sign-in detour
    // comes back to the same request.
    window.history.replaceState(null, '', window.location.pathname + '?user_code=' + encodeURIComponent(code));
    confirmThen(function () {
      // After SSO a mismatch sends the person to type the code; a typed
      // code that is the grant's own goes back to the SSO decision.
      if (state.grant && Codes.normalize(state.grant.user_code) === code) {
        showSSOAuthorize();
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
    V.authorize(state.session, state.lookup, state.code);
    G.setBusy(decisionButtons, false);
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
      decided(kind);
      return;
    }
    G.setBusy(decisionButtons, false);
    if (r.status === 401) {
      showSessionExpired('local');
      return;
    }
    showDecisionFailure(r);
  }

  // decided shows the outcome. The decision is final: the buttons stay
  // disabled, and a reload must not come back to the question.
  function decided(kind) {
    Codes.forget();
    window.history.replaceState(null, '', window.location.pathname);
    show(kind === 'approve' ? 'success' : 'denied');
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
        Codes.forget();
        V.decided(state.code);
        show('decided');
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

  // selectedWorkspaceId is the chosen workspace, the only one, or the
  // session's default when the account has none listed.
  function selectedWorkspaceId() {
    var select = byId('workspace');
    if (select.options.length > 0) {
      return select.value;
    }
    var def = state.session.default_workspace_id;
    return typeof def === 'string' ? def : '';
  }

  // ---- The SSO branch ----

  // showSSORefusal explains a refusal from sso-complete. The code this tab
  // confirmed before leaving for the identity provider is kept, so trying
  // again (or signing in locally) needs no retyping.
  function showSSORefusal(word) {
    window.history.replaceState(null, '', window.location.pathname);
    state.code = Codes.current();
    if (word === 'code_expired') {
      showInvalid();
      return;
    }
    if (!V.refused(word, state.code)) {
      showError(V.genericError, { data: { error: word } });
      return;
    }
    show('refused');
  }

  // loadSSOContext runs on the return from the identity provider: who
  // signed in (the grant cookie), then the code's details.
  async function loadSSOContext() {
    var r = await G.fetchJSON('GET', '/v1/oauth/device/approval-context');
    if (r.status === 401) {
      state.code = Codes.current();
      showSessionExpired('sso');
      return;
    }
    if (r.status !== 200 || !isGrant(r.data)) {
      showFailure(r);
      return;
    }
    state.grant = r.data;
    state.code = Codes.normalize(r.data.user_code);
    state.lookup = await fetchLookup(state.code);
    if (!state.lookup) {
      return;
    }
    // A link straight to sso-initiate skips the /device page, so the match
    // is asked here, before the decision, when this browser has not yet
    // confirmed the code.
    confirmThen(showSSOAuthorize);
  }

  function isGrant(data) {
    return Boolean(data && typeof data.subject_email === 'string' && typeof data.subject_issuer === 'string' &&
      typeof data.user_code === 'string' && typeof data.csrf_token === 'string');
  }

  function showSSOAuthorize() {
    V.ssoAuthorize(state.grant, state.lookup, state.code);
    G.setBusy(ssoButtons, false);
    show('sso-authorize');
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
      decided(kind);
      return;
    }
    G.setBusy(ssoButtons, false);
    if (r.status === 401) {
      showSessionExpired('sso');
      return;
    }
    showDecisionFailure(r);
  }

  // ---- Starting over ----

  // restart goes back to code entry; keep leaves the current code in the
  // field (for "Enter the code again"), otherwise it is forgotten.
  function restart(keep) {
    window.clearTimeout(state.retryTimer);
    var code = keep ? (state.code || Codes.current()) : '';
    if (!keep) {
      Codes.forget();
    }
    state.lookup = null;
    state.session = null;
    state.grant = null;
    document.title = BASE_TITLE;
    window.history.replaceState(null, '', window.location.pathname);
    setEnterBusy(false);
    setInputError('');
    byId('enter-notice').hidden = true;
    input.value = Codes.format(code);
    show('enter');
    input.select();
  }

  // retryCode looks the current code up again (after a rate limit or an
  // SSO refusal), or goes back to code entry when there is none.
  function retryCode() {
    var code = state.code || Codes.current();
    if (!code) {
      restart(false);
      return;
    }
    window.clearTimeout(state.retryTimer);
    state.grant = null;
    show('enter');
    submitCode(code, false);
  }

  // ---- Wiring ----

  byId('enter-form').addEventListener('submit', onEnterSubmit);
  input.addEventListener('input', onCodeInput);
  byId('approve').addEventListener('click', function () { decide('approve'); });
  byId('deny').addEventListener('click', function () { decide('deny'); });
  byId('signout').addEventListener('click', signOut);
  byId('restart-invalid').addEventListener('click', function () { restart(false); });
  byId('restart-decided').addEventListener('click', function () { restart(false); });
  byId('restart-error').addEventListener('click', function () { restart(true); });
  byId('restart-expired').addEventListener('click', function () { restart(false); });
  byId('retry').addEventListener('click', retryCode);
  byId('refused-retry').addEventListener('click', retryCode);
  byId('sso-approve').addEventListener('click', function () { decideSSO('approve'); });
  byId('sso-deny').addEventListener('click', function () { decideSSO('deny'); });
  byId('match-none').addEventListener('click', matchFailed);

  // A code in the URL (verification_uri_complete) is filled in and looked
  // up, then matched, never approved: the person still has to pick it and
  // press Authorize. The return from SSO is read first; it never approves
  // by itself either.
  var query = new URLSearchParams(window.location.search);
  var fromURL = query.get('user_code');
  if (query.get('sso_error')) {
    showSSORefusal(query.get('sso_error'));
  } else if (query.get('sso_verified')) {
    loadSSOContext();
  } else if (fromURL) {
    submitCode(fromURL, false);
  } else {
    input.focus();
  }
})();
