package cmd

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

var update = flag.Bool("update", false, "rewrite generated files (docs/configuration.md's flag reference)")

const (
	referenceFile  = "../docs/configuration.md"
	referenceBegin = "<!-- generated:flags -->"
	referenceEnd   = "<!-- /generated:flags -->"
)

// TestConfigurationReference keeps the flag reference in
// docs/configuration.md equal to what the flag definitions and their
// configuration annotations say.
func TestConfigurationReference(t *testing.T) {
	raw, err := os.ReadFile(referenceFile)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	begin, end := strings.Index(doc, referenceBegin), strings.Index(doc, referenceEnd)
	if begin < 0 || end < begin {
		t.Fatalf("%s: no %s ... %s section to generate the flag reference into", referenceFile, referenceBegin, referenceEnd)
	}
	want := doc[:begin+len(referenceBegin)] + "\n" + renderReference(newRootCmd(defaultFactory())) + doc[end:]
	if want == doc {
		return
	}
	if *update {
		if err := os.WriteFile(referenceFile, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s: the flag reference differs from the flag definitions at line %d; regenerate it with:\n\n\tgo test ./cmd -run TestConfigurationReference -update",
		referenceFile, firstDifferentLine(doc, want))
}

// renderReference writes one table per command: every flag with its type,
// default, the Django settings and environment variable it is read from,
// and its help.
func renderReference(root *cobra.Command) string {
	var b strings.Builder
	b.WriteString("<!-- Generated from the flag definitions by `go test ./cmd -run TestConfigurationReference -update`: edit the flags in cmd/, not this section. -->\n")
	for _, c := range referenceCommands(root) {
		fmt.Fprintf(&b, "\n### `%s`\n\n", c.CommandPath())
		b.WriteString("| flag | type | default | Django setting | environment | meaning |\n|---|---|---|---|---|---|\n")
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Name == "help" {
				return
			}
			name := "`--" + f.Name + "`"
			if f.Shorthand != "" {
				name = "`-" + f.Shorthand + "`, " + name
			}
			setting, env := flagSources(f)
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", name, flagType(f), flagDefault(f), setting, env, cell(f.Usage))
		})
	}
	return b.String()
}

// referenceCommands lists the commands with flags: serve and consume first,
// then the others by name.
func referenceCommands(root *cobra.Command) []*cobra.Command {
	var cmds []*cobra.Command
	for _, c := range root.Commands() {
		if c.IsAvailableCommand() && c.Name() != "help" {
			cmds = append(cmds, c)
		}
	}
	rank := func(c *cobra.Command) int {
		if i := slices.Index([]string{"serve", "consume"}, c.Name()); i >= 0 {
			return i
		}
		return 2
	}
	slices.SortStableFunc(cmds, func(a, b *cobra.Command) int {
		if d := rank(a) - rank(b); d != 0 {
			return d
		}
		return strings.Compare(a.Name(), b.Name())
	})
	return cmds
}

// flagSources names where a flag is read from besides the command line, as
// configResolver does.
func flagSources(f *pflag.Flag) (setting, env string) {
	switch {
	case !isConfigurable(f):
		return "—", "— (command line only)"
	case isBootstrap(f):
		return "— (environment only)", code(envName(f))
	}
	if v := f.Annotations[annSetting]; len(v) > 0 {
		return code(v[0]), code(envName(f))
	}
	setting = code(settingName(f.Name))
	if hasLegacy(f) {
		setting += ", " + code(legacyName(f.Name)) + " (deprecated)"
	}
	return setting, code(envName(f))
}

func flagType(f *pflag.Flag) string {
	switch t := f.Value.Type(); t {
	case "int", "int64":
		return "integer"
	case "format", "level":
		return "string"
	case "stringSlice":
		return "list (comma-separated)"
	case "stringArray":
		return "list (repeat the flag)"
	default:
		return t
	}
}

func flagDefault(f *pflag.Flag) string {
	d := f.DefValue
	if _, ok := f.Value.(pflag.SliceValue); ok {
		d = strings.TrimSuffix(strings.TrimPrefix(d, "["), "]")
	}
	if d == "" {
		return ""
	}
	return code(d)
}

func code(s string) string { return "`" + s + "`" }

// cell escapes text for a Markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "<", "&lt;", "*", `\*`).Replace(s)
}

func firstDifferentLine(a, b string) int {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return i + 1
		}
	}
	return min(len(al), len(bl)) + 1
}
