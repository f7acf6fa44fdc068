package registryconf

import (
	"fmt"

	"berth.dev/berth/internal/reference"
)

// PushResolution is the answer to "where will a push of Name go, and why".
// A push goes to exactly one endpoint: there is no fallback.
type PushResolution struct {
	Name reference.Reference `json:"name"`
	// Rule is the matched rule, or "" when none matched.
	Rule string `json:"rule,omitempty"`
	// Prefix is the matched rule's prefix.
	Prefix string `json:"prefix,omitempty"`
	// Origin is the name's own registry, and OriginContacted whether the
	// push goes there.
	Origin          string `json:"origin"`
	OriginContacted bool   `json:"originContacted"`
	// Refused is set when the rule forbids the push (blocked, or fallback
	// "none" without a push endpoint); Endpoint is then nil.
	Refused bool `json:"refused"`
	// Reason says, in one line, why the push goes where it goes.
	Reason   string     `json:"reason"`
	Endpoint *Candidate `json:"endpoint,omitempty"`
}

// ResolvePush returns where a push of name goes. Only the config file's
// rules apply: the command-flag rules (--replace, --registry-mirror) are for
// pulls. The matched rule decides:
//
//   - no rule: the name's own registry;
//   - a rule with a push endpoint: that endpoint, with the rule's prefix
//     mapped as for its mirrors (push.location/rest), and only there;
//   - a blocked rule, or one with fallback "none" and no push endpoint: the
//     push is refused (air-gapped means the origin is never contacted);
//   - any other rule: the name's own registry (mirrors and rewrites are for
//     pulls), with the rule's TLS settings when it has no location.
//
// A refused push gives the PushResolution (Refused set) and a
// *PushRefusedError.
func (r *Resolver) ResolvePush(name reference.Reference) (*PushResolution, error) {
	res := &PushResolution{Name: name, Origin: name.Domain()}
	ru, rest := match(name, r.rules)
	if ru != nil {
		res.Rule, res.Prefix = ru.source, ru.pat.text
	}
	origin := func(insecure bool, caDir, source, reason string) (*PushResolution, error) {
		c, err := r.candidate(name, RoleOrigin, location{host: name.Domain()}, name.Path(), insecure, caDir, false, source)
		if err != nil {
			return nil, err
		}
		res.Endpoint, res.OriginContacted, res.Reason = &c, true, reason
		return res, nil
	}
	switch {
	case ru == nil:
		return origin(false, "", "no rule matches: the name's own registry", "no rule matches: the name's own registry")
	case ru.blocked:
		res.Refused, res.Reason = true, "the rule blocks the name"
		return res, &PushRefusedError{Name: name.String(), Rule: ru.source, Reason: res.Reason}
	case ru.push != nil:
		c, err := r.candidate(name, RolePush, ru.push.loc, rest, ru.push.insecure, ru.push.caDir, false, ru.push.source)
		if err != nil {
			return nil, err
		}
		res.Endpoint, res.OriginContacted = &c, c.Host == name.Domain()
		res.Reason = "the rule's push endpoint: pushes go there only, never falling back to the origin"
		return res, nil
	case !ru.fallback:
		res.Refused = true
		res.Reason = fmt.Sprintf("fallback \"none\" never contacts %s and the rule names no push endpoint (set its \"push\")", name.Domain())
		return res, &PushRefusedError{Name: name.String(), Rule: ru.source, Reason: res.Reason}
	case ru.location != nil:
		return origin(false, "", ru.source, "the rule's rewrite is for pulls and it names no push endpoint: the name's own registry")
	case len(ru.mirrors) > 0:
		return origin(ru.insecure, ru.caDir, ru.source, "the rule's mirrors are for pulls and it names no push endpoint: the name's own registry")
	}
	return origin(ru.insecure, ru.caDir, ru.source, "the rule names no push endpoint: the name's own registry")
}
