package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"berth.dev/berth/internal/errdefs"
	"berth.dev/berth/internal/registryconf"
)

// DefaultPath is where berth looks for its config file.
const DefaultPath = "/etc/berth/config.json"

// File is the content of the config file.
type File struct {
	registryconf.Config
	// BIP is the default bridge network's gateway address and subnet,
	// e.g. "172.26.0.1/16" (Docker's key).
	BIP string `json:"bip,omitempty"`
	// DefaultAddressPools are where networks without --subnet get theirs
	// (Docker's key).
	DefaultAddressPools []AddressPool `json:"default-address-pools,omitempty"`
	// CgroupParent is the cgroup under which containers' cgroups go,
	// an absolute path such as "/berth" (the default), as Docker's key for
	// its cgroupfs driver.
	CgroupParent string `json:"cgroup-parent,omitempty"`
}

// AddressPool is one of Docker's default-address-pools: networks of Size
// bits carved out of Base.
type AddressPool struct {
	Base string `json:"base"`
	Size int    `json:"size"`
}

// Loaded is a config file and where it came from.
type Loaded struct {
	File
	// Path is the file read, and Found whether it exists. A missing file
	// at the default path is an empty configuration.
	Path  string
	Found bool
}

// ValidCgroupParent reports whether p can hold containers' cgroups: an
// absolute, clean path other than the root.
func ValidCgroupParent(p string) bool {
	return strings.HasPrefix(p, "/") && p != "/" && filepath.Clean(p) == p
}

// Error is a config file that cannot be read or decoded. Kind: invalid
// argument.
type Error struct {
	Path string
	Key  string // "" for the file as a whole
	Msg  string
}

func (e *Error) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("config %s: %s", e.Path, e.Msg)
	}
	return fmt.Sprintf("config %s: %s: %s", e.Path, e.Key, e.Msg)
}

// Is makes an *Error match errdefs.ErrInvalidArgument.
func (e *Error) Is(target error) bool { return target == errdefs.ErrInvalidArgument }

// Load reads the config file at path. When required is false a missing file
// is an empty configuration; when true (the user named the file) it is an
// error.
func Load(path string, required bool) (*Loaded, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !required {
		return &Loaded{Path: path}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	f, err := Parse(data, path)
	if err != nil {
		return nil, err
	}
	return &Loaded{File: *f, Path: path, Found: true}, nil
}

// Parse decodes data strictly; path names the file in errors.
func Parse(data []byte, path string) (*File, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return &File{}, nil
	}
	var tree any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&tree); err != nil {
		return nil, &Error{Path: path, Msg: syntaxMessage(data, err)}
	}
	if dec.More() {
		return nil, &Error{Path: path, Msg: "more than one JSON value"}
	}
	if _, ok := tree.(map[string]any); !ok {
		return nil, &Error{Path: path, Msg: "the file must hold a JSON object"}
	}
	var f File
	if err := check(reflect.TypeOf(f), tree, ""); err != nil {
		err.Path = path
		return nil, err
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, &Error{Path: path, Msg: err.Error()}
	}
	if p := f.CgroupParent; p != "" && !ValidCgroupParent(p) {
		return nil, &Error{Path: path, Key: "cgroup-parent", Msg: fmt.Sprintf("%q: want an absolute, clean cgroup path such as /berth", p)}
	}
	return &f, nil
}

func syntaxMessage(data []byte, err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := position(data, se.Offset-1) // Offset is just past the bad byte
		return fmt.Sprintf("line %d, column %d: %s", line, col, se.Error())
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of file (an unclosed '{' or '[')"
	}
	return err.Error()
}

func position(data []byte, off int64) (line, col int) {
	line, col = 1, 1
	for i := 0; i < int(off) && i < len(data); i++ {
		if data[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// check walks the decoded JSON tree alongside the Go type it will be decoded
// into and reports the first unknown key or mistyped value, by its path.
func check(t reflect.Type, v any, path string) *Error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if _, ok := v.(string); ok && reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]()) {
			return nil // the type accepts a string shorthand
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return typeError(path, "an object", v)
		}
		fields := jsonFields(t)
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft, known := fields[k]
			if !known {
				return unknownKey(path, k, fields)
			}
			if err := check(ft, obj[k], join(path, k)); err != nil {
				return err
			}
		}
	case reflect.Slice:
		arr, ok := v.([]any)
		if !ok {
			return typeError(path, "a list", v)
		}
		for i, e := range arr {
			if err := check(t.Elem(), e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			return typeError(path, "a string", v)
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return typeError(path, "true or false", v)
		}
	case reflect.Int, reflect.Int64, reflect.Uint32, reflect.Uint64:
		if _, ok := v.(json.Number); !ok {
			return typeError(path, "a number", v)
		}
	}
	return nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// jsonFields maps the JSON names of t's fields (embedded structs flattened)
// to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func typeError(path, want string, got any) *Error {
	kind := "null"
	switch got.(type) {
	case string:
		kind = "a string"
	case bool:
		kind = "a boolean"
	case json.Number:
		kind = "a number"
	case []any:
		kind = "a list"
	case map[string]any:
		kind = "an object"
	}
	return &Error{Key: path, Msg: fmt.Sprintf("want %s, got %s", want, kind)}
}

// dockerOnly are daemon.json keys berth knows of but does not support (yet):
// said plainly rather than "unknown".
var dockerOnly = map[string]bool{
	"data-root": true, "exec-root": true, "storage-driver": true, "storage-opts": true,
	"log-driver": true, "log-opts": true, "live-restore": true, "hosts": true, "debug": true,
	"dns": true, "dns-search": true, "dns-opts": true,
	"mtu": true, "iptables": true, "ip-forward": true, "experimental": true, "features": true,
	"builder": true, "default-runtime": true, "runtimes": true, "exec-opts": true,
	"default-ulimits": true, "seccomp-profile": true, "userns-remap": true, "max-concurrent-downloads": true,
	"allow-nondistributable-artifacts": true, "labels": true, "tls": true, "tlsverify": true,
}

func unknownKey(path, key string, fields map[string]reflect.Type) *Error {
	full := join(path, key)
	if path == "" && dockerOnly[key] {
		return &Error{Key: full, Msg: "a Docker daemon.json key that berth does not support; remove it"}
	}
	msg := "unknown key"
	if s := closest(key, fields); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return &Error{Key: full, Msg: msg}
}

// closest is the known key nearest to key by edit distance, if near enough.
func closest(key string, fields map[string]reflect.Type) string {
	best, bestD := "", 3
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if d := distance(strings.ToLower(key), k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
