package registryconf

import (
	"encoding/json"
	"fmt"
)

// Config is the registry part of berth's config file (daemon.json style).
// The first two keys are Docker's and mean what they mean there.
type Config struct {
	// Mirrors of Docker Hub, tried in order before it (Docker's key).
	Mirrors []string `json:"registry-mirrors,omitempty"`
	// Insecure registries: host[:port] or CIDR (Docker's key). Loopback
	// addresses and "localhost" are insecure without being listed.
	Insecure []string `json:"insecure-registries,omitempty"`
	// Registries are berth's rules: mirrors for any registry, rewrites,
	// fallback and blocking, per name prefix.
	Registries []Rule `json:"registries,omitempty"`
}

// Rule applies to every name under Prefix.
type Rule struct {
	// Prefix is host[:port][/path] or *.domain[:port][/path], matched on
	// whole path components.
	Prefix string `json:"prefix"`
	// Location, if set, rewrites the prefix: the name's source becomes
	// Location/rest instead of the name's own registry.
	Location string `json:"location,omitempty"`
	// Mirrors are tried in order before the location or origin.
	Mirrors []Endpoint `json:"mirrors,omitempty"`
	// Push, if set, is where pushes of matching names go, mapped like the
	// mirrors (Push.Location/rest), and only there: a push never falls back
	// to the origin. Without it a push goes to the name's own registry,
	// unless the rule is blocked or has fallback "none" (then it is refused).
	Push *Endpoint `json:"push,omitempty"`
	// Fallback is "origin" (the default: after the mirrors, try the location
	// or the name's own registry) or "none" (never contact it: air-gapped).
	Fallback string `json:"fallback,omitempty"`
	// Blocked refuses every pull and push of a matching name.
	Blocked bool `json:"blocked,omitempty"`
	// Insecure and CADir are the TLS settings of the location or origin.
	Insecure bool   `json:"insecure,omitempty"`
	CADir    string `json:"ca-dir,omitempty"`
}

// Endpoint is one mirror, or a rule's push endpoint:
// [http[s]://]host[:port][/path]. A path is a repository-name prefix inside
// that registry (a Harbor project, say). In the config file an endpoint may
// also be written as a plain string.
type Endpoint struct {
	Location string `json:"location"`
	// Insecure skips TLS verification and allows plain HTTP, as Docker's
	// insecure-registries do.
	Insecure bool `json:"insecure,omitempty"`
	// CADir holds ca.crt / *.crt (and client cert pairs) like
	// /etc/docker/certs.d/<host>/.
	CADir string `json:"ca-dir,omitempty"`
	// DigestOnly endpoints are never asked to resolve a tag: they serve
	// manifests and blobs by digest, after a later endpoint resolved the tag.
	// A push stores a tag, so a push endpoint is never digest-only.
	DigestOnly bool `json:"digest-only,omitempty"`
}

// UnmarshalJSON accepts "location" as shorthand for {"location": "location"}.
func (e *Endpoint) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*e = Endpoint{Location: s}
		return nil
	}
	type plain Endpoint
	var p plain
	dec := json.NewDecoder(bytesReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return err
	}
	*e = Endpoint(p)
	return nil
}

// Flags are the per-command registry flags, which override the config file.
type Flags struct {
	// Replace pairs --replace FROM with --replace-to TO, in order.
	Replace []Replace
	// Mirrors from --registry-mirror replace the config's registry-mirrors.
	Mirrors []string
}

// Replace is one --replace FROM --replace-to TO pair.
type Replace struct {
	From, To string
}

// PairReplace pairs the values of repeated --replace and --replace-to flags
// in order.
func PairReplace(from, to []string) ([]Replace, error) {
	if len(from) != len(to) {
		return nil, &ConfigError{Source: "flags", Key: "--replace", Msg: fmt.Sprintf("--replace and --replace-to come in pairs: got %d --replace and %d --replace-to", len(from), len(to))}
	}
	out := make([]Replace, len(from))
	for i := range from {
		out[i] = Replace{From: from[i], To: to[i]}
	}
	return out, nil
}
