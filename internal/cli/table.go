package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"text/tabwriter"
	"text/template"
)

// writeRows prints rows as Docker does for list commands: the default
// table, a "table …" template with headers, a plain template per row, or
// "json" (one object per line). headers maps template fields to column
// titles.
func writeRows[T any](w io.Writer, format, defaultTable string, headers map[string]string, rows []T) error {
	if format == "" {
		format = defaultTable
	}
	if format == "json" {
		for _, r := range rows {
			b, err := json.Marshal(r)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "%s\n", b)
		}
		return nil
	}
	body, table := strings.CutPrefix(format, "table")
	body = strings.TrimSpace(body)
	if !table {
		body = format
	}
	body = strings.ReplaceAll(body, `\t`, "\t")
	tmpl, err := template.New("format").Funcs(templateFuncs).Parse(body)
	if err != nil {
		return usageError{fmt.Errorf("template parsing error: %v", err)}
	}
	out := w
	var tw *tabwriter.Writer
	if table {
		tw = tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)
		out = tw
		fmt.Fprintln(out, header(body, headers))
	}
	for _, r := range rows {
		if err := tmpl.Execute(out, r); err != nil {
			return fmt.Errorf("template: %v", err)
		}
		fmt.Fprintln(out)
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}

var fieldRE = regexp.MustCompile(`\{\{\s*\.(\w+)\s*\}\}`)

// header turns a row template into its header line.
func header(body string, headers map[string]string) string {
	return fieldRE.ReplaceAllStringFunc(body, func(m string) string {
		f := fieldRE.FindStringSubmatch(m)[1]
		if h, ok := headers[f]; ok {
			return h
		}
		return strings.ToUpper(f)
	})
}
