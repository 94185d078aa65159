package server

import (
	"net/http"

	"github.com/julienschmidt/httprouter"

	"gatehouse/webui"
)

// page serves one embedded HTML page under the strict page CSP.
func (s *Server) page(name string) handler {
	return func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
		html, ok := webui.Page(name)
		if !ok {
			return errNotFoundRoute
		}
		h := w.Header()
		h.Set("Content-Security-Policy", pageCSP)
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		w.Write(html)
		return nil
	}
}

func (s *Server) handleRoot(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	http.Redirect(w, r, "/device", http.StatusFound)
	return nil
}

// handleAsset serves the pages' CSS and JavaScript.
func (s *Server) handleAsset(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	name := ps.ByName("file")
	if len(name) < 2 {
		return errNotFoundRoute
	}
	f, err := webui.Static().Open(name[1:])
	if err != nil {
		return errNotFoundRoute
	}
	f.Close()
	w.Header().Set("Content-Security-Policy", pageCSP)
	w.Header().Set("Cache-Control", "public, max-age=300")
	http.ServeFileFS(w, r, webui.Static(), name[1:])
	return nil
}
