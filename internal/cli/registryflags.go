package cli

import (
	"github.com/spf13/pflag"

	"berth.dev/berth/internal/registryconf"
)

// registryFlags are the per-command registry overrides, on every command
// that pulls (pull, run, create, compose pull/up/run) and on image resolve
// and info, which show their effect. They apply to pulls only: push takes
// none (as in Docker; tag the image under the name to push instead).
type registryFlags struct {
	replace, replaceTo, mirrors []string
}

func (f *registryFlags) add(fs *pflag.FlagSet) {
	fs.StringArrayVar(&f.replace, "replace", nil, "Rewrite names under this prefix (host[/path]); pairs with --replace-to, repeatable")
	fs.StringArrayVar(&f.replaceTo, "replace-to", nil, "Where the matching --replace prefix goes instead (host[/path])")
	fs.StringArrayVar(&f.mirrors, "registry-mirror", nil, "Docker Hub mirror URL for this command, replacing registry-mirrors (repeatable)")
}

func (f *registryFlags) flags() (registryconf.Flags, error) {
	pairs, err := registryconf.PairReplace(f.replace, f.replaceTo)
	if err != nil {
		return registryconf.Flags{}, usageError{err}
	}
	return registryconf.Flags{Replace: pairs, Mirrors: f.mirrors}, nil
}
