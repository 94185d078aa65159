// The device page's views: switching between them and filling them in.
// device.js decides which view to show; this file only draws.
//
// Loaded with defer after common.js and codes.js, before device.js; it
// defines one global, window.GatehouseDeviceViews. Every value it writes
// goes through textContent, an attribute, or a <wbr> element it creates.
(function () {
  'use strict';

  var G = window.Gatehouse;
  var Codes = window.GatehouseCodes;
  var VIEWS = ['enter', 'match', 'signin', 'authorize', 'sso-authorize', 'session-expired', 'success', 'denied',
    'invalid', 'decided', 'ratelimited', 'refused', 'error'];
  var GENERIC_ERROR = 'Something went wrong. Please try again.';

  function byId(id) {
    return document.getElementById(id);
  }

  function text(v) {
    return typeof v === 'string' ? v : '';
  }

  // show reveals one view and moves focus to its heading (or the code
  // field on the enter view) so screen readers announce it.
  function show(name) {
    VIEWS.forEach(function (v) {
      byId('view-' + v).hidden = v !== name;
    });
    if (name === 'enter') {
      byId('user-code').focus();
      return;
    }
    var heading = byId('view-' + name).querySelector('h1');
    if (heading) {
      heading.focus();
    }
  }

  // setBreakable sets el's text with line-break opportunities (<wbr>) at
  // the places a person would break it: before "@" and "." in an email or
  // host name, after "//" in a URL, after ":" in an IPv6 address. Long
  // values then wrap between their parts, never mid-word.
  function setBreakable(el, value) {
    while (el.firstChild) {
      el.removeChild(el.firstChild);
    }
    String(value).split(/(?=[@.])|(?<=\/\/)|(?<=:)(?!\/)/).forEach(function (part, i) {
      if (i > 0) {
        el.appendChild(document.createElement('wbr'));
      }
      el.appendChild(document.createTextNode(part));
    });
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

  // request fills the request details (application, device, IP, age,
  // expiry, code) of the local view (prefix '') or the SSO view ('sso-').
  function request(prefix, codeId, lookup, code) {
    var clientName = text(lookup.client_name) || text(lookup.client_id) || 'Unknown application';
    var clientId = text(lookup.client_id);
    byId(prefix + 'client-name').textContent = clientName;
    byId(prefix + 'client-id').textContent = clientId && clientId !== clientName ? '(' + clientId + ')' : '';

    var device = byId(prefix + 'device-label');
    device.textContent = text(lookup.device_label) || 'unnamed device';
    device.classList.toggle('muted', !text(lookup.device_label));

    setBreakable(byId(prefix + 'requester-ip'), text(lookup.requester_ip) || 'unknown');
    byId(prefix + 'requested-age').textContent = requestedAgo(lookup.age_seconds);
    byId(prefix + 'expires-in').textContent = expiresIn(lookup.expires_in_remaining);
    byId(codeId).textContent = Codes.format(code);
  }

  function authorize(session, lookup, code) {
    request('', 'authorize-code', lookup, code);
    setBreakable(byId('account-email'), session.account.email);
    workspaces(Array.isArray(session.workspaces) ? session.workspaces : [], text(session.default_workspace_id));
  }

  function ssoAuthorize(grant, lookup, code) {
    setBreakable(byId('sso-email'), grant.subject_email);
    setBreakable(byId('sso-issuer'), grant.subject_issuer);
    request('sso-', 'sso-code', lookup, code);
  }

  function workspaces(list, defaultId) {
    var select = byId('workspace');
    var usable = list.filter(function (w) {
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

  // signinHref is the local sign-in that comes back to code's request.
  function signinHref(code) {
    return '/signin?next=' + encodeURIComponent('/device?user_code=' + encodeURIComponent(code));
  }

  function ssoHref(code) {
    return '/v1/oauth/device/sso-initiate?user_code=' + encodeURIComponent(code);
  }

  function signin(code, sso) {
    byId('signin-code').textContent = Codes.format(code);
    byId('signin-link').href = signinHref(code);
    byId('sso-link').href = ssoHref(code);
    byId('sso-link').hidden = !sso;
    byId('signin-link').textContent = sso ? 'Sign in with a local account' : 'Sign in';
    byId('signin-link').classList.toggle('secondary', sso);
  }

  // sessionExpired explains a sign-in that ended before the decision:
  // kind 'local' (the session) or 'sso' (the approval grant). code is the
  // request's, or '' when this tab does not know it.
  function sessionExpired(kind, code, sso) {
    byId('session-expired-message').textContent = kind === 'sso'
      ? 'Your single sign-on expired or was already used; nothing was approved.'
      : 'Your sign-in expired; nothing was approved.';
    byId('session-expired-next').hidden = code === '';
    byId('expired-code').textContent = Codes.format(code);
    var local = byId('signin-again');
    local.hidden = code === '' || kind === 'sso';
    local.href = signinHref(code);
    var again = byId('sso-again');
    again.hidden = code === '' || !(kind === 'sso' || sso);
    again.href = ssoHref(code);
    again.classList.toggle('secondary', kind === 'local');
    byId('restart-expired').hidden = code !== '' && kind === 'local';
    byId('restart-expired').textContent = code === '' ? 'Enter the code again' : 'Enter a different code';
  }

  function rateLimited(retryAfter) {
    byId('ratelimited-message').textContent = G.tooManyMessage(retryAfter) + '.';
    // A wait of a minute or more can outlast the terminal's code.
    byId('ratelimited-expiry').hidden = Boolean(retryAfter) && retryAfter < 60;
  }

  // SSO_REFUSALS explains each fixed word /v1/device/sso-complete may
  // send; policy refusals and failed sign-ins get different headings.
  var SSO_REFUSALS = {
    invalid_assertion: [false, 'The sign-in from your organization could not be verified.'],
    assertion_expired: [false, 'The sign-in with your organization took too long and expired.'],
    assertion_replayed: [false, 'That sign-in was already used.'],
    issuer_not_allowed: [true, 'Your organization’s identity provider is not allowed to approve devices on this Gatehouse.'],
    missing_email: [true, 'Your organization’s sign-in did not say who you are (no email address), so it cannot approve a device.'],
    local_account: [true, 'Your email belongs to a local Gatehouse account. Sign in with that account instead of single sign-on.']
  };

  // refused fills the refusal view for word; code is this tab's request
  // ('' if unknown). It returns false for a word it does not know.
  function refused(word, code) {
    if (!Object.prototype.hasOwnProperty.call(SSO_REFUSALS, word)) {
      return false;
    }
    var policy = SSO_REFUSALS[word][0];
    byId('refused-title').textContent = policy ? 'Single sign-on not allowed' : 'Single sign-on did not finish';
    byId('refused-message').textContent = SSO_REFUSALS[word][1] + (policy ? '' : ' Nothing was approved; try again.');
    byId('refused-code').textContent = word;
    var local = byId('refused-local');
    local.hidden = !(word === 'local_account' && code);
    local.href = signinHref(code);
    byId('refused-retry').textContent = code ? 'Try again with code ' + Codes.format(code) : 'Enter the code';
    byId('refused-retry').classList.toggle('secondary', word === 'local_account' && Boolean(code));
    return true;
  }

  function decided(code) {
    byId('decided-code').textContent = Codes.format(code);
  }

  // error fills the error view; r's machine-readable code, if any, is shown.
  function error(message, r) {
    byId('error-message').textContent = message || GENERIC_ERROR;
    var code = r ? G.errorCode(r.data) : '';
    byId('error-code').textContent = code;
    byId('error-detail').hidden = code === '';
  }

  window.GatehouseDeviceViews = Object.freeze({
    show: show,
    authorize: authorize,
    ssoAuthorize: ssoAuthorize,
    signin: signin,
    sessionExpired: sessionExpired,
    rateLimited: rateLimited,
    refused: refused,
    decided: decided,
    error: error,
    genericError: GENERIC_ERROR
  });
})();
