package registry

import (
	"berth.dev/berth/internal/credential"
	"berth.dev/berth/internal/registryconf"
)

// Endpoint is a candidate endpoint and the credential it would use.
type Endpoint struct {
	registryconf.Candidate
	Credentials credential.Source `json:"credentials"`
}

// Plan is where a pull goes, in order, and why.
type Plan struct {
	registryconf.Resolution
	// Endpoints are the resolution's candidates with their credentials; in
	// JSON they take the place of the resolution's "candidates".
	Endpoints []Endpoint `json:"candidates"`
}

// CredentialSource finds where a host's credential would come from.
type CredentialSource interface {
	SourceFor(host string) credential.Source
}

// NewPlan pairs each candidate of res with the credential source of the
// host it contacts (never of the name the user typed).
func NewPlan(res *registryconf.Resolution, creds CredentialSource) *Plan {
	p := &Plan{Resolution: *res}
	p.Resolution.Candidates = nil
	for _, c := range res.Candidates {
		p.Endpoints = append(p.Endpoints, Endpoint{Candidate: c, Credentials: creds.SourceFor(c.Host)})
	}
	return p
}
