package credential

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"

	dockerconfig "github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/credentials"
	"github.com/docker/cli/cli/config/types"
)

// hubKey is the key Docker uses for Docker Hub in config.json.
const hubKey = "https://index.docker.io/v1/"

// Kind is where a credential comes from.
type Kind string

const (
	KindHelper Kind = "helper" // credHelpers[host]: docker-credential-<name>
	KindStore  Kind = "store"  // credsStore: docker-credential-<name>
	KindFile   Kind = "file"   // auths[host] in config.json
	KindEnv    Kind = "env"    // DOCKER_AUTH_CONFIG
	KindNone   Kind = "none"   // anonymous
)

// Source says where the credential for a host would come from, never what
// it is.
type Source struct {
	Kind   Kind   `json:"kind"`
	Detail string `json:"detail"`
}

func (s Source) String() string { return s.Detail }

// Store is a loaded Docker config file.
type Store struct {
	file    *configfile.ConfigFile
	envKeys map[string]bool // hosts in DOCKER_AUTH_CONFIG
}

// Open loads config.json from dir, or from Docker's default directory
// ($DOCKER_CONFIG, else ~/.docker) when dir is "". A missing file is an
// empty store.
func Open(dir string) (*Store, error) {
	cf, err := dockerconfig.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("load docker config: %w", err)
	}
	s := &Store{file: cf, envKeys: map[string]bool{}}
	if env := os.Getenv("DOCKER_AUTH_CONFIG"); env != "" {
		var v struct {
			Auths map[string]json.RawMessage `json:"auths"`
		}
		if err := json.Unmarshal([]byte(env), &v); err != nil {
			return nil, fmt.Errorf("parse DOCKER_AUTH_CONFIG: %w", err)
		}
		for k := range v.Auths {
			s.envKeys[credentials.ConvertToHostname(k)] = true
		}
	}
	return s, nil
}

// Filename is the config file this store reads.
func (s *Store) Filename() string { return s.file.Filename }

// Key is the config.json key for a registry host: Docker Hub's legacy URL
// for docker.io and its aliases, the host[:port] otherwise.
func Key(host string) string {
	switch host {
	case "docker.io", "index.docker.io", "registry-1.docker.io":
		return hubKey
	}
	return host
}

// SourceFor says where the credential for host would come from, with
// Docker's precedence: DOCKER_AUTH_CONFIG, then credHelpers[host], then
// credsStore, then auths[host] in the file.
func (s *Store) SourceFor(host string) Source {
	key := Key(host)
	if s.envKeys[credentials.ConvertToHostname(key)] {
		return Source{Kind: KindEnv, Detail: fmt.Sprintf("DOCKER_AUTH_CONFIG entry for %s", key)}
	}
	if h, ok := s.file.CredentialHelpers[key]; ok && h != "" {
		return Source{Kind: KindHelper, Detail: fmt.Sprintf("credHelpers[%q]: docker-credential-%s (%s)", key, h, s.file.Filename)}
	}
	if st := s.file.CredentialsStore; st != "" {
		return Source{Kind: KindStore, Detail: fmt.Sprintf("credsStore: docker-credential-%s (%s)", st, s.file.Filename)}
	}
	if k, ok := s.authKey(key); ok {
		return Source{Kind: KindFile, Detail: fmt.Sprintf("auths[%q] in %s", k, s.file.Filename)}
	}
	return Source{Kind: KindNone, Detail: fmt.Sprintf("anonymous (no entry for %s in %s)", key, s.file.Filename)}
}

// authKey finds the auths entry for key as Docker's file store does: the
// key itself, else any entry whose host part is the same.
func (s *Store) authKey(key string) (string, bool) {
	if _, ok := s.file.AuthConfigs[key]; ok {
		return key, true
	}
	want := credentials.ConvertToHostname(key)
	keys := make([]string, 0, len(s.file.AuthConfigs))
	for k := range s.file.AuthConfigs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if credentials.ConvertToHostname(k) == want {
			return k, true
		}
	}
	return "", false
}

// Auth is a registry credential. It never leaves berth except to the host
// it was looked up for.
type Auth struct {
	Username, Password string
	IdentityToken      string
	RegistryToken      string
}

// Empty reports whether a is anonymous.
func (a Auth) Empty() bool { return a == Auth{} }

// Lookup returns the credential for host, asking a credential helper if the
// config names one. No credential is an empty Auth and a nil error.
func (s *Store) Lookup(host string) (Auth, error) {
	ac, err := s.file.GetAuthConfig(Key(host))
	if err != nil {
		return Auth{}, fmt.Errorf("get credentials for %s: %w", host, err)
	}
	return Auth{Username: ac.Username, Password: ac.Password, IdentityToken: ac.IdentityToken, RegistryToken: ac.RegistryToken}, nil
}

// Save stores a credential for host where Docker would: its credential
// helper or store if configured, else base64 in config.json (written
// atomically by docker/cli).
func (s *Store) Save(host string, a Auth) error {
	key := Key(host)
	ac := types.AuthConfig{Username: a.Username, Password: a.Password, IdentityToken: a.IdentityToken, ServerAddress: key}
	if err := s.file.GetCredentialsStore(key).Store(ac); err != nil {
		return fmt.Errorf("store credentials for %s: %w", host, err)
	}
	if err := s.file.Save(); err != nil {
		return fmt.Errorf("save %s: %w", s.file.Filename, err)
	}
	return nil
}

// Erase removes the credential for host. It reports whether there was one.
func (s *Store) Erase(host string) (bool, error) {
	key := Key(host)
	_, had := s.authKey(key)
	if h, ok := s.file.CredentialHelpers[key]; ok && h != "" || s.file.CredentialsStore != "" {
		had = true
	}
	if !had {
		return false, nil
	}
	if err := s.file.GetCredentialsStore(key).Erase(key); err != nil {
		return true, fmt.Errorf("erase credentials for %s: %w", host, err)
	}
	if k, ok := s.authKey(key); ok {
		delete(s.file.AuthConfigs, k)
	}
	if err := s.file.Save(); err != nil {
		return true, fmt.Errorf("save %s: %w", s.file.Filename, err)
	}
	return true, nil
}
