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

// PushPlan is where a push goes, and why: one endpoint, no fallback.
type PushPlan struct {
	registryconf.PushResolution
	// Endpoint is the resolution's endpoint with its credential; nil when
	// the push is refused. In JSON it takes the place of the resolution's
	// "endpoint".
	Endpoint *Endpoint `json:"endpoint,omitempty"`
}

// NewPushPlan pairs the endpoint of res with the credential source of the
// host it contacts (the push endpoint's, never the name's own registry's).
func NewPushPlan(res *registryconf.PushResolution, creds CredentialSource) *PushPlan {
	p := &PushPlan{PushResolution: *res}
	p.PushResolution.Endpoint = nil
	if c := res.Endpoint; c != nil {
		p.Endpoint = &Endpoint{Candidate: *c, Credentials: creds.SourceFor(c.Host)}
	}
	return p
}
