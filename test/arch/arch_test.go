package arch

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "berth.dev/berth"

// layers is DESIGN.md §2 as berth has it, times ten so that a layer can be
// split (11 sits above 10 within DESIGN's layer 1): a package may import
// only packages of a lower number. A package not listed fails the test, so a new
// package must be placed here (and in docs/ARCHITECTURE.md) first.
// Subpackages share the layer of their parent and may import it.
var layers = map[string]int{
	"internal/errdefs":    0,
	"internal/version":    0,
	"internal/sysinfo":    0,
	"internal/atomicfile": 1,
	"internal/lockfile":   1,

	"internal/reference":    10,
	"internal/registryconf": 11,
	"internal/credential":   11,

	"internal/config":    20,
	"internal/registry":  20,
	"internal/mountspec": 20,

	"internal/content": 30,
	"internal/archive": 30,

	"internal/layer": 40,

	"internal/image":     50,
	"internal/imagetest": 50,
	"internal/oci":       50,

	"internal/runtime": 60,
	"internal/volume":  60,
	"internal/network": 60,
	"internal/monitor": 60,

	"internal/container": 70,
	"internal/compose":   80,
	"internal/engine":    90,

	"internal/cli":       100,
	"internal/apiserver": 100,

	"cmd/berth":      110,
	"cmd/berth-init": 110,
}

// owners: each heavy dependency has one importing package (and its
// subpackages); testOwners lists the test-support packages that may also
// use one to build fixtures.
var testOwners = map[string][]string{
	"github.com/google/go-containerregistry": {"internal/imagetest"},
}

var owners = map[string]string{
	"github.com/distribution/reference":      "internal/reference",
	"github.com/spf13/cobra":                 "internal/cli",
	"github.com/spf13/pflag":                 "internal/cli",
	"github.com/docker/cli":                  "internal/credential",
	"github.com/google/go-containerregistry": "internal/registry",
	"github.com/opencontainers/runc":         "internal/runtime",
	"github.com/compose-spec/compose-go":     "internal/compose",
	"github.com/vishvananda/netlink":         "internal/network",
	"github.com/google/nftables":             "internal/network",
	"github.com/miekg/dns":                   "internal/network",
}

// layerOf returns the layer of a package dir and the listed root it falls under.
func layerOf(dir string) (int, string, bool) {
	for d := dir; d != "." && d != "/"; d = filepath.Dir(d) {
		if l, ok := layers[d]; ok {
			return l, d, true
		}
		// internal/<x>test helpers sit just above <x>.
		if strings.HasSuffix(d, "test") {
			if l, ok := layers[strings.TrimSuffix(d, "test")]; ok {
				return l, d, true
			}
		}
	}
	return 0, "", false
}

type pkg struct {
	dir     string
	imports map[string][]string // import path -> files
	hasDoc  bool
	isMain  bool
}

func loadPackages(t *testing.T) map[string]*pkg {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	pkgs := map[string]*pkg{}
	for _, top := range []string{"internal", "cmd"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == "testdata" {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			rel, _ := filepath.Rel(root, filepath.Dir(path))
			p := pkgs[rel]
			if p == nil {
				p = &pkg{dir: rel, imports: map[string][]string{}}
				pkgs[rel] = p
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly|parser.PackageClauseOnly)
			if err != nil {
				return err
			}
			if f.Name.Name == "main" {
				p.isMain = true
			}
			f, err = parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
			if err != nil {
				return err
			}
			if filepath.Base(path) == "doc.go" {
				p.hasDoc = true
			}
			for _, imp := range f.Imports {
				ip, _ := strconv.Unquote(imp.Path.Value)
				p.imports[ip] = append(p.imports[ip], filepath.Base(path))
			}
			return nil
		})
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	if len(pkgs) < 5 {
		t.Fatalf("found only %d packages: is the test run from test/arch?", len(pkgs))
	}
	return pkgs
}

func TestImportsGoDownward(t *testing.T) {
	pkgs := loadPackages(t)
	dirs := make([]string, 0, len(pkgs))
	for d := range pkgs {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		p := pkgs[d]
		l, pRoot, ok := layerOf(d)
		if !ok {
			t.Errorf("%s: package not placed in a layer (add it to layers in test/arch and to docs/ARCHITECTURE.md)", d)
			continue
		}
		for ip, files := range p.imports {
			rel, internal := strings.CutPrefix(ip, module+"/")
			if !internal {
				continue
			}
			il, iRoot, ok := layerOf(rel)
			if !ok {
				t.Errorf("%s imports unplaced package %s", d, rel)
				continue
			}
			if iRoot == pRoot || strings.HasPrefix(rel, pRoot+"/") || strings.HasPrefix(pRoot, iRoot+"/") {
				continue // within one package tree
			}
			if il >= l {
				t.Errorf("%s (layer %d) imports %s (layer %d) in %v: imports must go to a lower layer", d, l, rel, il, files)
			}
		}
	}
}

func TestHeavyDependenciesHaveOneImporter(t *testing.T) {
	for d, p := range loadPackages(t) {
		for ip, files := range p.imports {
			for dep, owner := range owners {
				if ip != dep && !strings.HasPrefix(ip, dep+"/") {
					continue
				}
				if d != owner && !strings.HasPrefix(d, owner+"/") && !slices.Contains(testOwners[dep], d) {
					t.Errorf("%s imports %s in %v; only %s may", d, ip, files, owner)
				}
			}
		}
	}
}

func TestEveryPackageHasDoc(t *testing.T) {
	for d, p := range loadPackages(t) {
		if !p.hasDoc && !p.isMain {
			t.Errorf("%s: no doc.go saying what the package is and its layer", d)
		}
	}
}
