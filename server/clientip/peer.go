package clientip

import "net/http"

// PeerTrusted reports whether the socket peer of req is a trusted proxy, so
// headers it sets about the request (a request id, say) may be believed.
func (r Resolver) PeerTrusted(req *http.Request) bool {
	return r.trusted(peerAddr(req.RemoteAddr))
}
