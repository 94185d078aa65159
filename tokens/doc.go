// Package tokens is the pure code behind every secret Gatehouse hands out:
// user codes and device codes, bearer token kinds and their prefixes,
// hashing, passwords and the HS256 JWS envelopes of the SSO flow.
//
// It owns no storage and imports no project package. It must never log, and
// nothing in it keeps a plaintext secret beyond the call that made it.
package tokens
