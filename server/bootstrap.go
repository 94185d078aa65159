package server

import (
	"errors"
	"fmt"
	"log/slog"

	"gatehouse/store"
	"gatehouse/tokens"
)

// bootstrap makes a fresh install usable: the gatehouse-cli client, and an
// admin account whose one-time password is printed once to the terminal.
func (s *Server) bootstrap() error {
	err := s.store.PutClient(store.Client{ID: DefaultClientID, Name: "Gatehouse CLI", CreatedAt: s.now()})
	if err != nil && !errors.Is(err, store.ErrExists) {
		return err
	}
	n, err := s.store.CountAccounts()
	if err != nil || n > 0 {
		return err
	}
	password, err := tokens.RandomString(15)
	if err != nil {
		return err
	}
	if _, err := CreateAccount(s.store, s.cfg.AdminEmail, "Administrator", "admin", password, []string{"default"}, s.cfg.PasswordCost, s.now()); err != nil {
		return err
	}
	s.log.Info("created the first admin account", slog.String("email", s.cfg.AdminEmail))
	fmt.Fprintf(s.cfg.Out, "\nGatehouse is set up. Sign in at %s/signin as\n\n    email:    %s\n    password: %s\n\nThis password is shown only this once.\n\n",
		s.cfg.PublicURL, s.cfg.AdminEmail, password)
	return nil
}
