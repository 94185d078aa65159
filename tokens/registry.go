package tokens

// Kinds returns every registered token kind, in registry order. The slice
// is a copy: callers cannot change the registry.
func Kinds() []Kind { return append([]Kind(nil), registry...) }

// AllScopes is every scope some kind grants, each once, in registry order
// (what RFC 8414 metadata advertises as scopes_supported).
func AllScopes() []string {
	var out []string
	seen := map[string]bool{}
	for _, k := range registry {
		for _, s := range k.Scopes {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out
}
