package reference

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"
)

// The corpus: distribution/reference's own test tables (testdata/distribution,
// copied verbatim from v0.6.0 under its Apache-2.0 licence), read as data with
// go/parser so that berth's wrapper is held to the same cases as the library
// Docker uses.

func loadCorpus(t *testing.T, file string) map[string]*ast.FuncDecl {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "testdata/distribution/"+file, nil, 0)
	if err != nil {
		t.Fatalf("parse corpus %s: %v", file, err)
	}
	funcs := map[string]*ast.FuncDecl{}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok {
			funcs[fd.Name.Name] = fd
		}
	}
	return funcs
}

// stringSlice returns the string literals of the []string assigned to name in fn.
func stringSlice(t *testing.T, fn *ast.FuncDecl, name string) []string {
	t.Helper()
	var out []string
	ast.Inspect(fn, func(n ast.Node) bool {
		as, ok := n.(*ast.AssignStmt)
		if !ok || len(as.Lhs) != 1 || len(as.Rhs) != 1 {
			return true
		}
		if id, ok := as.Lhs[0].(*ast.Ident); !ok || id.Name != name {
			return true
		}
		if cl, ok := as.Rhs[0].(*ast.CompositeLit); ok {
			for _, e := range cl.Elts {
				out = append(out, literal(t, e))
			}
		}
		return false
	})
	if len(out) == 0 {
		t.Fatalf("corpus: no strings in %s.%s", fn.Name.Name, name)
	}
	return out
}

// structRows returns the keyed struct literals of the first table in fn, each
// as field -> value (strings unquoted, identifiers by name).
func structRows(t *testing.T, fn *ast.FuncDecl) []map[string]string {
	t.Helper()
	var rows []map[string]string
	ast.Inspect(fn, func(n ast.Node) bool {
		cl, ok := n.(*ast.CompositeLit)
		if !ok || rows != nil {
			return rows == nil
		}
		if _, ok := cl.Type.(*ast.ArrayType); !ok {
			return true
		}
		for _, e := range cl.Elts {
			el, ok := e.(*ast.CompositeLit)
			if !ok {
				return true
			}
			row := map[string]string{}
			for _, kv := range el.Elts {
				kv, ok := kv.(*ast.KeyValueExpr)
				if !ok {
					return true
				}
				row[kv.Key.(*ast.Ident).Name] = literal(t, kv.Value)
			}
			rows = append(rows, row)
		}
		return false
	})
	if len(rows) == 0 {
		t.Fatalf("corpus: no table in %s", fn.Name.Name)
	}
	return rows
}

func literal(t *testing.T, e ast.Expr) string {
	t.Helper()
	switch v := e.(type) {
	case *ast.BasicLit:
		s, err := strconv.Unquote(v.Value)
		if err != nil {
			t.Fatalf("corpus literal %s: %v", v.Value, err)
		}
		return s
	case *ast.Ident:
		return v.Name
	case *ast.SelectorExpr:
		return v.Sel.Name
	case *ast.BinaryExpr: // "a" + strings.Repeat(…) and the like: not used as data
		return "<expr>"
	case *ast.CallExpr:
		return "<expr>"
	}
	t.Fatalf("corpus: unexpected literal %T", e)
	return ""
}

func checkOneLine(t *testing.T, input string, err error) {
	t.Helper()
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("Parse(%q): error spans lines: %q", input, msg)
	}
	if !strings.Contains(msg, strconv.Quote(input)) {
		t.Errorf("Parse(%q): error %q does not name the input", input, msg)
	}
}

func TestCorpusValidateReferenceName(t *testing.T) {
	fn := loadCorpus(t, "normalize_test.go.txt")["TestValidateReferenceName"]
	for _, name := range stringSlice(t, fn, "validRepoNames") {
		if _, err := Parse(name); err != nil {
			t.Errorf("Parse(%q) = %v, want valid", name, err)
		}
	}
	for _, name := range stringSlice(t, fn, "invalidRepoNames") {
		_, err := Parse(name)
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want error", name)
			continue
		}
		checkOneLine(t, name, err)
	}
}

func TestCorpusParseRepositoryInfo(t *testing.T) {
	fn := loadCorpus(t, "normalize_test.go.txt")["TestParseRepositoryInfo"]
	for _, row := range structRows(t, fn) {
		for _, in := range []string{row["FamiliarName"], row["FullName"], row["AmbiguousName"]} {
			if in == "" {
				continue
			}
			r, err := Parse(in)
			if err != nil {
				t.Errorf("Parse(%q): %v", in, err)
				continue
			}
			if r.Name() != row["FullName"] || r.Domain() != row["Domain"] || r.Path() != row["RemoteName"] {
				t.Errorf("Parse(%q) = name %q domain %q path %q, want %q %q %q",
					in, r.Name(), r.Domain(), r.Path(), row["FullName"], row["Domain"], row["RemoteName"])
			}
			if want := row["FamiliarName"] + ":latest"; r.Familiar() != want {
				t.Errorf("Parse(%q).Familiar() = %q, want %q", in, r.Familiar(), want)
			}
		}
	}
}

func TestCorpusParseDockerRef(t *testing.T) {
	fn := loadCorpus(t, "normalize_test.go.txt")["TestParseDockerRef"]
	for _, row := range structRows(t, fn) {
		t.Run(row["name"], func(t *testing.T) {
			r, err := Parse(row["input"])
			if err != nil {
				t.Fatal(err)
			}
			if r.String() != row["expected"] {
				t.Errorf("Parse(%q) = %q, want %q", row["input"], r, row["expected"])
			}
		})
	}
}

func TestCorpusReferenceParse(t *testing.T) {
	fn := loadCorpus(t, "reference_test.go.txt")["TestReferenceParse"]
	rows := structRows(t, fn)
	for _, row := range rows {
		in := row["input"]
		if in == "<expr>" {
			continue
		}
		r, err := Parse(in)
		if row["err"] != "" {
			if err == nil {
				t.Errorf("Parse(%q) = %q, want error like %s", in, r, row["err"])
				continue
			}
			checkOneLine(t, in, err)
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", in, err)
			continue
		}
		if d := row["digest"]; d != "" && string(r.Digest()) != d {
			t.Errorf("Parse(%q).Digest() = %q, want %q", in, r.Digest(), d)
		}
		// Docker drops a tag given with a digest; otherwise the tag survives.
		if tag := row["tag"]; tag != "" && row["digest"] == "" && r.Tag() != tag {
			t.Errorf("Parse(%q).Tag() = %q, want %q", in, r.Tag(), tag)
		}
	}
	if len(rows) < 40 {
		t.Fatalf("corpus: only %d rows in TestReferenceParse", len(rows))
	}
}
