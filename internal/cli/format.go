package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/template"
)

// templateFuncs are the functions Docker offers in --format templates.
var templateFuncs = template.FuncMap{
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"join":     strings.Join,
	"split":    strings.Split,
	"lower":    strings.ToLower,
	"upper":    strings.ToUpper,
	"title":    func(s string) string { return strings.ToUpper(s[:min(1, len(s))]) + s[min(1, len(s)):] },
	"pad":      func(s string, pre, post int) string { return strings.Repeat(" ", pre) + s + strings.Repeat(" ", post) },
	"truncate": func(s string, n int) string { return s[:min(n, len(s))] },
	"println":  fmt.Sprintln,
}

// writeFormatted prints v as --format asks: "json" for JSON on one line,
// otherwise a Go template. It reports false when format is "", leaving the
// default output to the caller.
func writeFormatted(w io.Writer, format string, v any) (bool, error) {
	switch format {
	case "":
		return false, nil
	case "json":
		b, err := json.Marshal(v)
		if err != nil {
			return true, err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return true, err
	}
	tmpl, err := template.New("format").Funcs(templateFuncs).Parse(format)
	if err != nil {
		return true, usageError{fmt.Errorf("template parsing error: %v", err)}
	}
	if err := tmpl.Execute(w, v); err != nil {
		return true, fmt.Errorf("template: %v", err)
	}
	_, err = fmt.Fprintln(w)
	return true, err
}
