// Sign-in page: local account email and password.
//
// Talks to POST /console/api/login, GET /console/api/session and
// POST /console/api/logout. After signing in it goes to the "next" query
// parameter when that is a safe same-origin path, else to /device.
(function () {
  'use strict';

  var G = window.Gatehouse;
  var DEFAULT_NEXT = '/device';

  var el = {
    checking: byId('view-checking'),
    formView: byId('view-form'),
    signedInView: byId('view-signed-in'),
    form: byId('signin-form'),
    email: byId('email'),
    password: byId('password'),
    submit: byId('signin-submit'),
    error: byId('signin-error'),
    status: byId('signin-status'),
    signedInEmail: byId('signed-in-email'),
    continueLink: byId('continue-link'),
    signout: byId('signout'),
    signoutStatus: byId('signout-status')
  };

  var next = G.safeNext(new URLSearchParams(window.location.search).get('next'), DEFAULT_NEXT);
  var csrfToken = '';

  function byId(id) {
    return document.getElementById(id);
  }

  function showView(view, focusTarget) {
    el.checking.hidden = true;
    el.formView.hidden = view !== el.formView;
    el.signedInView.hidden = view !== el.signedInView;
    if (focusTarget) {
      focusTarget.focus();
    }
  }

  function showError(message) {
    el.error.textContent = message;
    el.error.hidden = false;
  }

  function clearError() {
    el.error.textContent = '';
    el.error.hidden = true;
  }

  function showForm() {
    clearError();
    showView(el.formView, el.email.value ? el.password : el.email);
  }

  function showSignedIn(email) {
    el.signedInEmail.textContent = email;
    el.continueLink.href = next;
    showView(el.signedInView, null);
    el.continueLink.focus();
  }

  async function checkSession() {
    var r = await G.fetchJSON('GET', '/console/api/session');
    var account = r.status === 200 && r.data && r.data.account;
    if (account && typeof account.email === 'string') {
      csrfToken = typeof r.data.csrf_token === 'string' ? r.data.csrf_token : '';
      showSignedIn(account.email);
      return;
    }
    showForm();
  }

  function loginFailureMessage(r) {
    if (r.status === 401) {
      return 'Email or password is wrong';
    }
    if (r.status === 429) {
      return G.tooManyMessage(r.retryAfter);
    }
    if (r.status === 0) {
      return 'Could not reach Gatehouse. Check your connection and try again.';
    }
    return 'Something went wrong while signing in. Please try again.';
  }

  async function onSubmit(event) {
    event.preventDefault();
    if (el.submit.disabled) {
      return;
    }
    clearError();
    G.setBusy([el.submit], true);
    el.status.textContent = 'Signing in…';
    var r = await G.fetchJSON('POST', '/console/api/login', {
      body: { email: el.email.value.trim(), password: el.password.value }
    });
    if (r.status === 200) {
      el.status.textContent = 'Signed in. Continuing…';
      window.location.assign(next);
      return;
    }
    el.status.textContent = '';
    G.setBusy([el.submit], false);
    showError(loginFailureMessage(r));
    el.password.value = '';
    el.password.focus();
  }

  async function onSignout() {
    G.setBusy([el.signout], true);
    el.signoutStatus.textContent = 'Signing out…';
    var r = await G.fetchJSON('POST', '/console/api/logout', { csrf: csrfToken });
    G.setBusy([el.signout], false);
    el.signoutStatus.textContent = '';
    // 401 means the session was already gone: signed out either way.
    if ((r.status >= 200 && r.status < 300) || r.status === 401) {
      csrfToken = '';
      el.email.value = '';
      showForm();
      return;
    }
    el.signoutStatus.textContent = r.status === 429
      ? G.tooManyMessage(r.retryAfter)
      : 'Could not sign out. Please try again.';
  }

  el.form.addEventListener('submit', onSubmit);
  el.signout.addEventListener('click', onSignout);
  checkSession();
})();
