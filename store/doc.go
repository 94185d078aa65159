// Package store keeps all of Gatehouse's state in one bbolt file.
//
// Every exported method that changes state is exactly one bbolt transaction
// and one state change; a decision that depends on a read is taken inside the
// same transaction as the write. No byte slice from bbolt outlives its
// transaction, and no plaintext token, code, password or cookie value is ever
// written: secrets are stored as their SHA-256 (tokens.Hash).
//
// Bucket layout (schema version 3). Keys and values are shown as
// key -> value; JSON values are the exported row types of this package.
//
//	meta/
//	    schema_version      -> uint64, big-endian
//	    ready_probe         -> unix seconds, big-endian (last /readyz write)
//	device_codes/
//	    <sha256(device_code)> -> DeviceCode (JSON)
//	user_codes/
//	    <user code, 8 letters> -> <sha256(device_code)>
//	tokens/
//	    <token id>          -> Token (binary since version 3, see tokenrow.go;
//	                           JSON rows of versions 1-2 still read; Hash
//	                           cleared once revoked)
//	token_hashes/
//	    <sha256(token)>     -> <token id>
//	token_active/
//	    <activeKey(email, issuer, client id, device label)> -> <token id>
//	        at most one live token per key; rotation replaces the row's hash;
//	        every live token has its entry, and a subject's entries share a
//	        key prefix (ListTokens of one subject seeks it)
//	accounts/
//	    <account id>        -> Account (JSON)
//	account_emails/
//	    <lower-case email>  -> <account id>
//	workspaces/
//	    <workspace id>      -> Workspace (JSON)
//	memberships/
//	    <account id> 0x00 <workspace id> -> role
//	sessions/
//	    <sha256(session cookie)> -> Session (JSON)
//	clients/
//	    <client id>         -> Client (JSON)
//	nonces/
//	    <nonce>             -> expiry, unix seconds, big-endian
//	audit/
//	    <sequence, uint64 big-endian> -> Event (JSON)
//	resource_servers/       (since version 2)
//	    <name>              -> ResourceServer (JSON; only the SHA-256 of its secret)
//
// Account tokens use LocalIssuer as their subject issuer, never "", so a
// re-login on the same device rotates the same active-index entry.
package store
