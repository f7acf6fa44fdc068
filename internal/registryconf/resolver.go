package registryconf

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"berth.dev/berth/internal/reference"
)

// Role says why a candidate is in the list.
type Role string

const (
	RoleMirror  Role = "mirror"  // a mirror of the rule
	RoleRewrite Role = "rewrite" // the rule's location, replacing the origin
	RoleOrigin  Role = "origin"  // the name's own registry
	RolePush    Role = "push"    // the rule's push endpoint (pushes only)
)

// TLS is how a candidate endpoint is contacted.
type TLS string

const (
	TLSVerify   TLS = "https"    // HTTPS, certificate verified (CA dir, if any, added)
	TLSInsecure TLS = "insecure" // HTTPS without verification, then plain HTTP (Docker's insecure-registries)
	TLSPlain    TLS = "http"     // plain HTTP, as the endpoint URL says
)

// Candidate is one endpoint a pull tries, in order.
type Candidate struct {
	Role Role `json:"role"`
	// Ref is the physical reference at this endpoint.
	Ref reference.Reference `json:"ref"`
	// Host is the registry contacted, host[:port].
	Host string `json:"host"`
	// URL is the base URL of the registry API.
	URL   string `json:"url"`
	TLS   TLS    `json:"tls"`
	CADir string `json:"caDir,omitempty"`
	// DigestOnly endpoints serve content by digest only; a tag is resolved
	// by a later endpoint first.
	DigestOnly bool `json:"digestOnly"`
	// Rule says which setting produced this candidate, and where it is.
	Rule string `json:"rule"`
}

// Resolution is the answer to "where will a pull of Name go, and why".
type Resolution struct {
	Name reference.Reference `json:"name"`
	// Rule is the matched rule, or "" when none matched.
	Rule string `json:"rule,omitempty"`
	// Prefix is the matched rule's prefix.
	Prefix  string `json:"prefix,omitempty"`
	Blocked bool   `json:"blocked"`
	// Fallback is "origin" or "none".
	Fallback string `json:"fallback"`
	// Origin is the name's own registry, and OriginContacted whether any
	// candidate goes there.
	Origin          string      `json:"origin"`
	OriginContacted bool        `json:"originContacted"`
	Candidates      []Candidate `json:"candidates"`
}

// Option configures a Resolver.
type Option func(*options)

type options struct {
	certsDirs []string
	dirExists func(string) bool
	lookupIP  func(host string) ([]net.IP, error)
}

// WithCertsDirs sets the roots searched for per-host CA directories
// (<root>/<host[:port]>/), first match wins. Default: /etc/berth/certs.d,
// then Docker's /etc/docker/certs.d.
func WithCertsDirs(dirs ...string) Option { return func(o *options) { o.certsDirs = dirs } }

// WithDirExists replaces the test for a directory's existence (for tests).
func WithDirExists(f func(string) bool) Option { return func(o *options) { o.dirExists = f } }

// WithLookupIP lets CIDR entries of insecure-registries match host names by
// their addresses, as Docker does. Without it only IP literals match CIDRs.
func WithLookupIP(f func(host string) ([]net.IP, error)) Option {
	return func(o *options) { o.lookupIP = f }
}

// DefaultCertsDirs are the roots searched for per-host CA directories.
var DefaultCertsDirs = []string{"/etc/berth/certs.d", "/etc/docker/certs.d"}

// Resolver maps references to candidate endpoints. It is immutable and safe
// for concurrent use.
type Resolver struct {
	flagRules []rule // from command flags, consulted first
	rules     []rule // from the config file
	insecure  insecureSet
	warnings  []string
	opts      options
}

type rule struct {
	pat      pattern
	location *location // nil: the origin
	mirrors  []endpoint
	push     *endpoint // nil: pushes go to the origin (or are refused)
	fallback bool
	blocked  bool
	insecure bool
	caDir    string
	source   string
}

type endpoint struct {
	loc        location
	insecure   bool
	caDir      string
	digestOnly bool
	source     string
}

// New compiles the config (read from source, a file name used in messages)
// and the command's flags. Invalid or contradictory settings give a
// *ConfigError naming the source and key.
func New(cfg Config, source string, flags Flags, opts ...Option) (*Resolver, error) {
	r := &Resolver{opts: options{certsDirs: DefaultCertsDirs, dirExists: dirExists}}
	for _, o := range opts {
		o(&r.opts)
	}
	cerr := func(key, format string, args ...any) error {
		return &ConfigError{Source: source, Key: key, Msg: fmt.Sprintf(format, args...)}
	}

	ins, warns, err := parseInsecure(cfg.Insecure, source)
	if err != nil {
		return nil, err
	}
	r.insecure, r.warnings = ins, warns

	seen := map[string]int{}
	for i, rc := range cfg.Registries {
		key := fmt.Sprintf("registries[%d]", i)
		ru, err := compileRule(rc, key, source)
		if err != nil {
			return nil, err
		}
		if j, dup := seen[ru.pat.text]; dup {
			return nil, cerr(key+".prefix", "%q is already the prefix of registries[%d]", ru.pat.text, j)
		}
		seen[ru.pat.text] = i
		r.rules = append(r.rules, ru)
	}

	hubMirrors, hubKey, hubSuffix := cfg.Mirrors, "registry-mirrors", " in "+source
	if len(flags.Mirrors) > 0 {
		hubMirrors, hubKey, hubSuffix = flags.Mirrors, "--registry-mirror", " flag"
	}
	hubSource := hubKey + hubSuffix
	if len(hubMirrors) > 0 {
		var eps []endpoint
		for i, m := range hubMirrors {
			ep, err := compileHubMirror(m)
			if err != nil {
				src := source
				if hubKey == "--registry-mirror" {
					src = "flags"
				}
				return nil, &ConfigError{Source: src, Key: fmt.Sprintf("%s[%d]", hubKey, i), Msg: err.Error()}
			}
			ep.source = fmt.Sprintf("%s[%d]%s", hubKey, i, hubSuffix)
			eps = append(eps, ep)
		}
		if j, ok := seen[hubDomain]; ok {
			hub := &r.rules[j]
			if len(hub.mirrors) > 0 && len(flags.Mirrors) == 0 {
				return nil, cerr("registry-mirrors", "registries[%d] also sets mirrors for docker.io: keep one of the two", j)
			}
			hub.mirrors = eps
		} else {
			r.rules = append(r.rules, rule{pat: pattern{text: hubDomain, host: hubDomain}, mirrors: eps, fallback: true, source: hubSource})
		}
	}

	for i, ru := range cfg.Registries {
		if !r.rules[i].fallback && !r.rules[i].blocked && len(r.rules[i].mirrors) == 0 {
			return nil, cerr(fmt.Sprintf("registries[%d].fallback", i), "\"none\" without mirrors leaves nothing to pull from for %q (to refuse pulls, use \"blocked\": true)", ru.Prefix)
		}
	}

	seenFlag := map[string]int{}
	for i, rp := range flags.Replace {
		key := fmt.Sprintf("--replace %s --replace-to %s", rp.From, rp.To)
		pat, err := parsePattern(rp.From)
		if err != nil {
			return nil, &ConfigError{Source: "flags", Key: "--replace", Msg: err.Error()}
		}
		loc, err := parseLocation(rp.To)
		if err != nil {
			return nil, &ConfigError{Source: "flags", Key: "--replace-to", Msg: err.Error()}
		}
		if j, dup := seenFlag[pat.text]; dup {
			return nil, &ConfigError{Source: "flags", Key: "--replace", Msg: fmt.Sprintf("%q is given twice (pairs %d and %d)", pat.text, j+1, i+1)}
		}
		seenFlag[pat.text] = i
		r.flagRules = append(r.flagRules, rule{pat: pat, location: &loc, fallback: true, source: key})
	}
	return r, nil
}

func compileRule(rc Rule, key, source string) (rule, error) {
	cerr := func(k, format string, args ...any) error {
		return &ConfigError{Source: source, Key: key + k, Msg: fmt.Sprintf(format, args...)}
	}
	pat, err := parsePattern(rc.Prefix)
	if err != nil {
		return rule{}, cerr(".prefix", "%v", err)
	}
	ru := rule{pat: pat, blocked: rc.Blocked, insecure: rc.Insecure, caDir: rc.CADir,
		source: fmt.Sprintf("%s (prefix %q) in %s", key, pat.text, source)}
	switch rc.Fallback {
	case "", "origin":
		ru.fallback = true
	case "none":
	default:
		return rule{}, cerr(".fallback", "%q is not one of \"origin\", \"none\"", rc.Fallback)
	}
	if rc.Blocked {
		if rc.Location != "" || len(rc.Mirrors) > 0 || rc.Push != nil || rc.Fallback != "" || rc.Insecure || rc.CADir != "" {
			return rule{}, cerr("", "a blocked rule has no location, mirrors, push, fallback or TLS settings")
		}
		return ru, nil
	}
	if rc.Location != "" {
		loc, err := parseLocation(rc.Location)
		if err != nil {
			return rule{}, cerr(".location", "%v", err)
		}
		if loc.scheme == "" && loc.name("") == pat.text {
			return rule{}, cerr(".location", "%q repeats the prefix: drop it", rc.Location)
		}
		if rc.Fallback == "none" {
			return rule{}, cerr(".location", "with fallback \"none\" the location is never contacted: drop one of the two")
		}
		ru.location = &loc
	}
	if rc.Insecure && rc.CADir != "" {
		return rule{}, cerr("", "insecure skips certificate verification, so ca-dir would be ignored: keep one")
	}
	compile := func(m Endpoint, k string) (endpoint, error) {
		loc, err := parseLocation(m.Location)
		if err != nil {
			return endpoint{}, cerr(k+".location", "%v", err)
		}
		if m.Insecure && m.CADir != "" {
			return endpoint{}, cerr(k, "insecure skips certificate verification, so ca-dir would be ignored: keep one")
		}
		if loc.scheme == "http" && m.CADir != "" {
			return endpoint{}, cerr(k, "an http:// endpoint has no TLS, so ca-dir would be ignored")
		}
		return endpoint{loc: loc, insecure: m.Insecure, caDir: m.CADir, digestOnly: m.DigestOnly,
			source: fmt.Sprintf("%s%s (prefix %q) in %s", key, k, pat.text, source)}, nil
	}
	seen := map[string]int{}
	for i, m := range rc.Mirrors {
		k := fmt.Sprintf(".mirrors[%d]", i)
		ep, err := compile(m, k)
		if err != nil {
			return rule{}, err
		}
		id := ep.loc.host + "/" + ep.loc.path
		if j, dup := seen[id]; dup {
			return rule{}, cerr(k, "%q repeats mirrors[%d]", m.Location, j)
		}
		seen[id] = i
		ru.mirrors = append(ru.mirrors, ep)
	}
	if rc.Push != nil {
		if rc.Push.DigestOnly {
			return rule{}, cerr(".push.digest-only", "a push stores a tag, so a push endpoint cannot be digest-only (digest-only is for mirrors)")
		}
		ep, err := compile(*rc.Push, ".push")
		if err != nil {
			return rule{}, err
		}
		ru.push = &ep
	}
	return ru, nil
}

// compileHubMirror validates a Docker Hub mirror URL as Docker does, except
// that a path (a repository prefix inside the mirror) is allowed.
func compileHubMirror(s string) (endpoint, error) {
	if !strings.Contains(s, "://") {
		return endpoint{}, fmt.Errorf("%q: a mirror is a URL: http://host[:port] or https://host[:port]", s)
	}
	loc, err := parseLocation(s)
	if err != nil {
		return endpoint{}, err
	}
	return endpoint{loc: loc}, nil
}

// Warnings are settings that were accepted but deserve a word, such as a
// scheme stripped from an insecure registry.
func (r *Resolver) Warnings() []string { return slices.Clone(r.warnings) }

// Resolve returns the candidates for a pull of name. A blocked name gives
// the Resolution (Blocked set, no candidates) and a *BlockedError; a rule
// that maps the name to an invalid one gives a *ConfigError.
func (r *Resolver) Resolve(name reference.Reference) (*Resolution, error) {
	res := &Resolution{Name: name, Origin: name.Domain(), Fallback: "origin"}
	ru, rest := match(name, r.flagRules, r.rules)
	if ru == nil {
		c, err := r.candidate(name, RoleOrigin, location{host: name.Domain()}, name.Path(), false, "", false, "no rule matches: the name's own registry")
		if err != nil {
			return nil, err
		}
		res.Candidates = []Candidate{c}
		res.OriginContacted = true
		return res, nil
	}
	res.Rule, res.Prefix = ru.source, ru.pat.text
	if ru.blocked {
		res.Blocked = true
		return res, &BlockedError{Name: name.String(), Rule: ru.source}
	}
	if !ru.fallback {
		res.Fallback = "none"
	}
	for _, m := range ru.mirrors {
		c, err := r.candidate(name, RoleMirror, m.loc, rest, m.insecure, m.caDir, m.digestOnly, m.source)
		if err != nil {
			return nil, err
		}
		res.Candidates = append(res.Candidates, c)
	}
	if ru.fallback {
		role, loc, path := RoleOrigin, location{host: name.Domain()}, name.Path()
		if ru.location != nil {
			role, loc, path = RoleRewrite, *ru.location, rest
		}
		c, err := r.candidate(name, role, loc, path, ru.insecure, ru.caDir, false, ru.source)
		if err != nil {
			return nil, err
		}
		res.Candidates = append(res.Candidates, c)
		res.OriginContacted = role == RoleOrigin
	}
	if name.Digest() == "" && !slices.ContainsFunc(res.Candidates, func(c Candidate) bool { return !c.DigestOnly }) {
		return res, &ConfigError{Source: ru.source, Msg: fmt.Sprintf("no endpoint may resolve tag %q: every mirror is digest-only and fallback is \"none\" (pull by digest instead)", name.Tag())}
	}
	return res, nil
}

// match finds the rule for name among the sets in order (for pulls: flag
// rules first, then config rules); in each, the longest matched prefix
// wins, and on a tie a literal host beats a wildcard, then the longer
// pattern wins.
func match(name reference.Reference, sets ...[]rule) (*rule, string) {
	for _, set := range sets {
		var best *rule
		var bestRest string
		bestLen, bestLit := -1, -1
		for i := range set {
			rest, n, ok := set[i].pat.match(name.Domain(), name.Path())
			if !ok {
				continue
			}
			lit := len(set[i].pat.text)
			if !set[i].pat.wildcard {
				lit += 1 << 16
			}
			if n > bestLen || (n == bestLen && lit > bestLit) {
				best, bestRest, bestLen, bestLit = &set[i], rest, n, lit
			}
		}
		if best != nil {
			return best, bestRest
		}
	}
	return nil, ""
}

func (r *Resolver) candidate(name reference.Reference, role Role, loc location, rest string, insecure bool, caDir string, digestOnly bool, source string) (Candidate, error) {
	repo := loc.name(rest)
	phys, err := name.WithName(repo)
	if err != nil {
		return Candidate{}, &ConfigError{Source: source, Msg: fmt.Sprintf("maps %s to %q, which is not a repository name: %v", name, repo, err)}
	}
	host := phys.Domain()
	c := Candidate{Role: role, Ref: phys, Host: host, DigestOnly: digestOnly, Rule: source}
	apiHost := host
	if host == hubDomain {
		apiHost = "registry-1.docker.io"
	}
	// An explicit ca-dir asks for verification, even of a registry that is
	// insecure only implicitly (loopback, insecure-registries).
	switch {
	case loc.scheme == "http":
		c.TLS = TLSPlain
	case insecure || (caDir == "" && r.isInsecure(host)):
		c.TLS = TLSInsecure
	default:
		c.TLS = TLSVerify
	}
	scheme := "https"
	if c.TLS == TLSPlain {
		scheme = "http"
	}
	c.URL = scheme + "://" + apiHost
	if c.TLS == TLSVerify {
		c.CADir = caDir
		if c.CADir == "" {
			c.CADir = r.certsDir(host)
		}
	}
	return c, nil
}

func (r *Resolver) certsDir(host string) string {
	for _, root := range r.opts.certsDirs {
		d := filepath.Join(root, host)
		if r.opts.dirExists(d) {
			return d
		}
	}
	return ""
}

func (r *Resolver) isInsecure(host string) bool {
	return r.insecure.contains(host, r.opts.lookupIP)
}

func dirExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// RuleInfo describes a rule in force, for `berth info`.
type RuleInfo struct {
	Prefix   string         `json:"prefix"`
	Location string         `json:"location,omitempty"`
	Mirrors  []EndpointInfo `json:"mirrors,omitempty"`
	Push     *EndpointInfo  `json:"push,omitempty"`
	Fallback string         `json:"fallback"`
	Blocked  bool           `json:"blocked,omitempty"`
	// Insecure and CADir are the rule's TLS settings of its location or
	// the origin.
	Insecure bool   `json:"insecure,omitempty"`
	CADir    string `json:"caDir,omitempty"`
	Source   string `json:"source"`
}

// EndpointInfo describes a mirror or push endpoint as configured.
type EndpointInfo struct {
	Location   string `json:"location"`
	Insecure   bool   `json:"insecure,omitempty"`
	CADir      string `json:"caDir,omitempty"`
	DigestOnly bool   `json:"digestOnly,omitempty"`
}

func (e endpoint) info() EndpointInfo {
	return EndpointInfo{Location: e.loc.String(), Insecure: e.insecure, CADir: e.caDir, DigestOnly: e.digestOnly}
}

// Rules lists the rules in force, command-flag rules first, each list in
// the order given.
func (r *Resolver) Rules() []RuleInfo {
	var out []RuleInfo
	for _, set := range [][]rule{r.flagRules, r.rules} {
		for _, ru := range set {
			ri := RuleInfo{Prefix: ru.pat.text, Fallback: "origin", Blocked: ru.blocked, Insecure: ru.insecure, CADir: ru.caDir, Source: ru.source}
			if !ru.fallback {
				ri.Fallback = "none"
			}
			if ru.blocked {
				ri.Fallback = ""
			}
			if ru.location != nil {
				ri.Location = ru.location.String()
			}
			for _, m := range ru.mirrors {
				ri.Mirrors = append(ri.Mirrors, m.info())
			}
			if ru.push != nil {
				p := ru.push.info()
				ri.Push = &p
			}
			out = append(out, ri)
		}
	}
	return out
}

// InsecureRegistries lists the insecure registries in force, loopback first
// (implicit, as in Docker), then the configured hosts and CIDRs.
func (r *Resolver) InsecureRegistries() []string {
	out := []string{"127.0.0.0/8", "::1/128", "localhost"}
	var hosts []string
	for h := range r.insecure.hosts {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	out = append(out, hosts...)
	for _, n := range r.insecure.nets {
		out = append(out, n.String())
	}
	return out
}

// Endpoint is the origin endpoint of a registry host, with the TLS settings
// the configuration gives it; for commands that contact a host directly
// (login), where no mirror or rewrite applies.
func (r *Resolver) Endpoint(host string) (Candidate, error) {
	name, err := reference.Parse(host + "/x")
	if err != nil {
		return Candidate{}, &ConfigError{Source: "registry", Msg: fmt.Sprintf("%q is not a registry host", host)}
	}
	return r.candidate(name, RoleOrigin, location{host: name.Domain()}, name.Path(), false, "", false, "the registry itself")
}
