package server_test

import (
	"gatehouse/store"
)

func clientRow(id string) store.Client {
	return store.Client{ID: id, Name: id}
}

func storeFilterAll(ts *testServer) store.TokenFilter {
	return store.TokenFilter{IncludeDead: true, Now: ts.clock.Now()}
}
