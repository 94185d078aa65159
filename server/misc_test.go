package server_test

import (
	"net/netip"
	"testing"

	"gatehouse/server/clientip"
	"gatehouse/store"
	"gatehouse/tokens"
)

func clientRow(id string) store.Client {
	return store.Client{ID: id, Name: id}
}

func storeFilterAll(ts *testServer) store.TokenFilter {
	return store.TokenFilter{IncludeDead: true, Now: ts.clock.Now()}
}

func mustPrefixes(t *testing.T, csv string) []netip.Prefix {
	t.Helper()
	p, err := clientip.ParseTrusted(csv)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func normalize(t *testing.T, uc string) string {
	t.Helper()
	c, err := tokens.NormalizeUserCode(uc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (ts *testServer) cfgDataDir() string { return ts.DataDir() }
