package archcheck

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/build"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

const (
	module  = "github.com/paysdk/payments"
	docFile = "docs/ARCHITECTURE.md"
)

// The rules below are the module's own, not the document's: the layers
// table may be changed, but never so that it breaks one of them.
var (
	// mustLayers are the layers the rules below name.
	mustLayers = []string{"base", "root", "obs", "transport", "provider", "fakekit", "fake", "portable", "driver", "ledger", "store", "example", "tool"}
	// only: the layer may import these layers and no other.
	only = map[string][]string{
		"root":      {"base"},                             // the root imports no provider and no transport
		"obs":       {"base", "root"},                     // instrumentation: the OpenTelemetry API, no provider
		"transport": {"base", "root", "obs"},              // the HTTP code knows no provider
		"provider":  {"base", "root", "transport", "obs"}, // never another provider, a fake, the portable layer
		"fakekit":   {"base", "root"},                     // what the fakes share: no client
		"fake":      {"base", "root", "fakekit"},          // written from the documents: no client
	}
	// never: the layer must not import these layers.
	never = map[string][]string{
		"portable": {"provider", "driver", "ledger", "store", "fake", "example", "tool"},
		"ledger":   {"provider", "driver", "store", "fake", "example", "tool"},
		"driver":   {"ledger", "store", "example", "tool"},
	}
	// Only providers import internal/transport; nobody imports an example
	// or a tool.
	importedOnlyBy = map[string][]string{"transport": {"provider"}, "example": {}, "tool": {}, "command": {"command", "example"}}

	// anchors pin the packages the rules are about to their layers.
	anchors = map[string]string{
		".": "root", "internal/transport": "transport", "internal/fakeserver": "fakekit",
		"payout": "portable", "payin": "portable", "ledger": "ledger", "internal/telemetry": "obs",
	}

	// allowedModules are the third-party modules the module may import, in
	// code or in tests; onlyFrom restricts some of them to given packages.
	allowedModules = []string{
		"golang.org/x/time", "github.com/go-resty/resty/v2", "github.com/stretchr/testify",
		"github.com/jarcoal/httpmock", "github.com/jackc/pgx/v5", "modernc.org/sqlite",
		"github.com/redis/go-redis/v9", "go.uber.org/goleak",
		"go.opentelemetry.io/otel", "go.opentelemetry.io/otel/metric", "go.opentelemetry.io/otel/trace",
		"go.opentelemetry.io/otel/sdk", "go.opentelemetry.io/otel/sdk/metric",
		"go.opentelemetry.io/otel/exporters/stdout/stdouttrace", "go.opentelemetry.io/otel/exporters/prometheus",
		"github.com/prometheus/client_golang",                                                   // the Prometheus exporter's handler, in the observability example
		"github.com/spf13/cobra", "github.com/spf13/pflag", "github.com/schollz/progressbar/v3", // the payments command (pflag: cobra's flags)
		"github.com/rogpeppe/go-internal", // testscript: the command's tests
		"github.com/chromedp/chromedp",    // the ledger page's browser test (testOnly)
	}
	onlyFrom = map[string][]string{"github.com/go-resty/resty/v2": {"internal/transport"}}
	// testOnly are modules only the tests of the packages named may import:
	// never non-test code, never another package's tests.
	testOnly = map[string][]string{"github.com/chromedp/chromedp": {"ledger/ledgerui"}}
	// appOnly are module path prefixes that the library's code never
	// imports: the OpenTelemetry SDK and exporters are the application's
	// choice; only programs (appLayers) and tests may import them.
	appOnly   = []string{"go.opentelemetry.io/otel/sdk", "go.opentelemetry.io/otel/exporters/", "github.com/prometheus/"}
	appLayers = []string{"example", "tool"}
	// noPull are module path prefixes that must not be anywhere in the
	// dependencies of the packages of noPullLayers (a CLI, a browser or an
	// OpenTelemetry SDK belongs in a program, never under the payout API).
	noPull       = []string{"github.com/spf13/cobra", "github.com/chromedp/", "go.opentelemetry.io/otel/sdk", "go.opentelemetry.io/otel/exporters/"}
	noPullLayers = []string{"root", "obs", "transport", "provider", "addon", "portable", "driver", "ledger", "store", "ui", "fake", "fakekit", "testkit", "suite"}
)

type listed struct {
	ImportPath   string
	ForTest      string
	Standard     bool
	Module       *struct{ Path string }
	Imports      []string
	TestImports  []string
	XTestImports []string
	Deps         []string
	Error        *struct{ Err string }
}

// tree is what go list says: per module package (relative path, "." for
// the root), its non-test imports (module packages by relative path,
// third-party packages by module path), its tests' third-party modules and
// its transitive dependencies.
type tree struct {
	imports map[string][]string
	tests   map[string][]string
	deps    map[string][]string
}

func goTool() string {
	if p := filepath.Join(build.Default.GOROOT, "bin", "go"); fileExists(p) {
		return p
	}
	return "go"
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func moduleRoot(t *testing.T) string {
	out, err := exec.Command(goTool(), "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

func rel(p string) string {
	if p == module {
		return "."
	}
	return strings.TrimPrefix(p, module+"/")
}

func isModule(p string) bool { return p == module || strings.HasPrefix(p, module+"/") }

func list(t *testing.T, root string) tree {
	cmd := exec.Command(goTool(), "list", "-e", "-deps", "-test", "-json", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var all []listed
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		if p.ForTest != "" || strings.HasSuffix(p.ImportPath, ".test") {
			continue
		}
		all = append(all, p)
	}
	modOf := map[string]string{}
	for _, p := range all {
		if p.Module != nil {
			modOf[p.ImportPath] = p.Module.Path
		}
	}
	// A third-party package only tests import is listed under its test
	// variant's name too; when it is not, its module is the longest known
	// module path that prefixes it.
	moduleOf := func(imp string) string {
		if m, ok := modOf[imp]; ok {
			return m
		}
		best := ""
		for _, m := range modOf {
			if (imp == m || strings.HasPrefix(imp, m+"/")) && len(m) > len(best) {
				best = m
			}
		}
		if best == "" {
			return imp
		}
		return best
	}
	std := map[string]bool{}
	for _, p := range all {
		if p.Standard {
			std[p.ImportPath] = true
		}
	}
	isStd := func(imp string) bool {
		return std[imp] || !strings.Contains(strings.SplitN(imp, "/", 2)[0], ".")
	}
	tr := tree{imports: map[string][]string{}, tests: map[string][]string{}, deps: map[string][]string{}}
	for _, p := range all {
		if !isModule(p.ImportPath) {
			continue
		}
		if p.Error != nil {
			t.Fatalf("go list: %s: %s", p.ImportPath, p.Error.Err)
		}
		name := rel(p.ImportPath)
		var imps []string
		for _, imp := range p.Imports {
			switch {
			case isModule(imp):
				imps = append(imps, rel(imp))
			case isStd(imp) || imp == "C" || imp == "unsafe":
			default:
				imps = append(imps, moduleOf(imp))
			}
		}
		tr.imports[name] = canonical(imps)
		var ti []string
		for _, imp := range append(slices.Clone(p.TestImports), p.XTestImports...) {
			if !isModule(imp) && !isStd(imp) {
				ti = append(ti, moduleOf(imp))
			}
		}
		tr.tests[name] = canonical(ti)
		tr.deps[name] = p.Deps
	}
	return tr
}

// canonical sorts and dedupes, module packages first, then third-party
// modules.
func canonical(s []string) []string {
	s = slices.Clone(s)
	sort.Slice(s, func(i, j int) bool {
		ti, tj := thirdParty(s[i]), thirdParty(s[j])
		if ti != tj {
			return !ti
		}
		return s[i] < s[j]
	})
	return slices.Compact(s)
}

// thirdParty tells a third-party module ("golang.org/x/time") from a module
// package ("payout", "." for the root): its first element has a dot.
func thirdParty(p string) bool {
	return p != "." && strings.Contains(strings.SplitN(p, "/", 2)[0], ".")
}

type docLine struct {
	n       int // line number in the document
	name    string
	layer   string   // packages block
	imports []string // packages block: imports; layers block: layers it may import
}

type doc struct {
	layers     []docLine
	layerOf    map[string]docLine
	packages   []docLine
	packageOf  map[string]docLine
	packagesAt int // line of the packages block's opening fence
}

// readDoc parses the ```arch-layers and ```arch-packages blocks: one entry
// a line, fields split by blanks, "#" to the end of a line a comment, "-"
// for nothing.
func readDoc(r *report, text string) (doc, bool) {
	d := doc{layerOf: map[string]docLine{}, packageOf: map[string]docLine{}}
	block := ""
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") {
			if block == "" {
				block = strings.TrimSpace(strings.TrimPrefix(trimmed, "```"))
				if block == "" {
					block = "other"
				}
				if block == "arch-packages" {
					d.packagesAt = n
				}
			} else {
				block = ""
			}
			continue
		}
		if block != "arch-layers" && block != "arch-packages" {
			continue
		}
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if fields[len(fields)-1] == "-" {
			fields = fields[:len(fields)-1]
		}
		switch block {
		case "arch-layers":
			l := docLine{n: n, name: fields[0], imports: fields[1:]}
			if _, dup := d.layerOf[l.name]; dup {
				r.Errorf("%s:%d: layer %s is listed twice", docFile, n, l.name)
			}
			d.layers = append(d.layers, l)
			d.layerOf[l.name] = l
		case "arch-packages":
			if len(fields) < 2 {
				r.Errorf("%s:%d: %q: a package line is `<package> <layer> <imports...>` (\"-\" for none)", docFile, n, sc.Text())
				continue
			}
			l := docLine{n: n, name: fields[0], layer: fields[1], imports: fields[2:]}
			if _, dup := d.packageOf[l.name]; dup {
				r.Errorf("%s:%d: package %s is listed twice", docFile, n, l.name)
			}
			d.packages = append(d.packages, l)
			d.packageOf[l.name] = l
		}
	}
	if err := sc.Err(); err != nil {
		r.Errorf("%s: %v", docFile, err)
		return d, false
	}
	if len(d.layers) == 0 || d.packagesAt == 0 {
		r.Errorf("%s has no ```arch-layers or no ```arch-packages block", docFile)
		return d, false
	}
	return d, true
}

func format(name, layer string, imports []string) string {
	imps := "-"
	if len(imports) > 0 {
		imps = strings.Join(imports, " ")
	}
	return fmt.Sprintf("%-30s %-10s %s", name, layer, imps)
}

// mayImport reports whether the layers table lets layer a import layer b.
func (d doc) mayImport(a, b string) bool {
	l, ok := d.layerOf[a]
	return ok && slices.Contains(l.imports, b)
}

// guessLayer proposes a layer for a package the document does not list:
// one whose table allows the package's listed module imports and that the
// layers of its listed importers may import; among those, the most common
// layer beside it (same parent directory), else the first in the table.
func (d doc) guessLayer(name string, tr tree) string {
	fits := func(layer string) bool {
		for _, imp := range tr.imports[name] {
			if l, ok := d.packageOf[imp]; ok && !thirdParty(imp) && !d.mayImport(layer, l.layer) {
				return false
			}
		}
		for importer, imps := range tr.imports {
			if l, ok := d.packageOf[importer]; ok && slices.Contains(imps, name) && !d.mayImport(l.layer, layer) {
				return false
			}
		}
		return true
	}
	count := map[string]int{}
	for _, p := range d.packages {
		if path.Dir(p.name) == path.Dir(name) && fits(p.layer) {
			count[p.layer]++
		}
	}
	best := ""
	for _, l := range d.layers {
		if count[l.name] > count[best] {
			best = l.name
		}
	}
	if best != "" {
		return best
	}
	for _, l := range d.layers {
		if fits(l.name) {
			return l.name
		}
	}
	return "<layer>"
}

// report collects what the checks find wrong.
type report struct{ problems []string }

func (r *report) Errorf(format string, args ...any) {
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
}

// check compares the document d with the tree tr and the module's rules.
func check(r *report, d doc, tr tree) {
	{ // layers
		for _, l := range d.layers {
			for _, b := range l.imports {
				if _, ok := d.layerOf[b]; !ok {
					r.Errorf("%s:%d: layer %s may import %q, which is not a layer of the arch-layers block", docFile, l.n, l.name, b)
				}
			}
		}
		for _, name := range mustLayers {
			if _, ok := d.layerOf[name]; !ok {
				r.Errorf("%s: the arch-layers block has no layer %q, which the module's rules name", docFile, name)
			}
		}
		for a, allowed := range only {
			for _, b := range d.layerOf[a].imports {
				if !slices.Contains(allowed, b) {
					r.Errorf("%s:%d: layer %s may import only %v, not %s (a module rule: see internal/archcheck)", docFile, d.layerOf[a].n, a, allowed, b)
				}
			}
		}
		for a, forbidden := range never {
			for _, b := range d.layerOf[a].imports {
				if slices.Contains(forbidden, b) {
					r.Errorf("%s:%d: layer %s must never import layer %s (a module rule: see internal/archcheck)", docFile, d.layerOf[a].n, a, b)
				}
			}
		}
		for b, importers := range importedOnlyBy {
			for _, l := range d.layers {
				if slices.Contains(l.imports, b) && !slices.Contains(importers, l.name) {
					r.Errorf("%s:%d: layer %s may import layer %s, which only %v may (a module rule: see internal/archcheck)", docFile, l.n, l.name, b, importers)
				}
			}
		}
	}

	{ // packages
		var names []string
		for name := range tr.imports {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			imps := tr.imports[name]
			l, ok := d.packageOf[name]
			if !ok {
				r.Errorf("%s: package %s is missing from the arch-packages block (line %d); add, choosing its layer from arch-layers (this one is a guess):\n\t%s",
					docFile, name, d.packagesAt, format(name, d.guessLayer(name, tr), imps))
				continue
			}
			if _, ok := d.layerOf[l.layer]; !ok {
				r.Errorf("%s:%d: package %s is in layer %q, which the arch-layers block does not list", docFile, l.n, name, l.layer)
			}
			if want := anchors[name]; want != "" && l.layer != want {
				r.Errorf("%s:%d: package %s must be in layer %s (a module rule), not %s", docFile, l.n, name, want, l.layer)
			}
			if parent, ok := d.packageOf[path.Dir(name)]; ok && parent.layer == "provider" && path.Base(name) == path.Base(parent.name)+"test" && l.layer != "fake" {
				r.Errorf("%s:%d: package %s is the fake of provider %s: its layer is fake (a module rule), not %s", docFile, l.n, name, parent.name, l.layer)
			}
			if isExample := strings.HasPrefix(name, "examples/"); isExample != (l.layer == "example") {
				r.Errorf("%s:%d: package %s: the example layer is exactly the packages under examples/", docFile, l.n, name)
			}
			if got := canonical(l.imports); !slices.Equal(got, imps) {
				var extra, missing []string
				for _, x := range got {
					if !slices.Contains(imps, x) {
						extra = append(extra, x)
					}
				}
				for _, x := range imps {
					if !slices.Contains(got, x) {
						missing = append(missing, x)
					}
				}
				r.Errorf("%s:%d: the imports of %s differ from the code (imported, not listed: %v; listed, not imported: %v); write the line as:\n\t%s",
					docFile, l.n, name, missing, extra, format(name, l.layer, imps))
			}
		}
		for _, l := range d.packages {
			if _, ok := tr.imports[l.name]; !ok {
				r.Errorf("%s:%d: package %s is listed but is not a package of the module (go list ./...); remove the line or fix its path", docFile, l.n, l.name)
			}
		}
	}

	{ // arrows
		for _, l := range d.packages {
			imps, ok := tr.imports[l.name]
			if !ok {
				continue
			}
			for _, imp := range imps {
				if thirdParty(imp) {
					continue
				}
				il, ok := d.packageOf[imp]
				if !ok {
					continue // reported as missing
				}
				if !d.mayImport(l.layer, il.layer) {
					r.Errorf("%s:%d: %s (layer %s) imports %s (layer %s), which the arch-layers block does not allow (%s -> %s): move the code, or change a layer within the module's rules",
						docFile, l.n, l.name, l.layer, imp, il.layer, l.layer, il.layer)
				}
			}
		}
	}

	{ // third-party
		check := func(name, what string, mods []string) {
			for _, m := range mods {
				if !thirdParty(m) {
					continue
				}
				if !slices.Contains(allowedModules, m) {
					r.Errorf("%s %s %s, which is not one of the module's allowed dependencies %v", name, what, m, allowedModules)
				}
				if from, ok := onlyFrom[m]; ok && !slices.Contains(from, name) {
					r.Errorf("%s %s %s, which only %v may import", name, what, m, from)
				}
				if from, ok := testOnly[m]; ok && (what == "imports" || !slices.Contains(from, name)) {
					r.Errorf("%s %s %s, which only the tests of %v may import", name, what, m, from)
				}
			}
		}
		for name, imps := range tr.imports {
			check(name, "imports", imps)
			check(name, "has tests that import", tr.tests[name])
			layer := ""
			for _, l := range d.packages {
				if l.name == name {
					layer = l.layer
				}
			}
			for _, m := range imps {
				for _, p := range appOnly {
					if strings.HasPrefix(m, p) && !slices.Contains(appLayers, layer) {
						r.Errorf("%s (layer %s) imports %s: the OpenTelemetry SDK and exporters are for programs (%v) and tests only; the library uses the API", name, layer, m, appLayers)
					}
				}
			}
		}
		for _, l := range d.packages {
			if !slices.Contains(noPullLayers, l.layer) {
				continue
			}
			for _, dep := range tr.deps[l.name] {
				for _, bad := range noPull {
					if strings.HasPrefix(dep, bad) {
						r.Errorf("%s (layer %s) depends on %s: no %v under the %v layers", l.name, l.layer, dep, noPull, noPullLayers)
					}
				}
			}
		}
	}
}

// TestArchitectureDocument fails when docs/ARCHITECTURE.md no longer
// describes the tree: each problem names the line to add, change or remove.
func TestArchitectureDocument(t *testing.T) {
	root := moduleRoot(t)
	text, err := os.ReadFile(filepath.Join(root, docFile))
	if err != nil {
		t.Fatal(err)
	}
	tr := list(t, root)
	var r report
	if d, ok := readDoc(&r, string(text)); ok {
		check(&r, d, tr)
	}
	for _, p := range r.problems {
		t.Error(p)
	}
}

// TestChecksCatchDrift proves each check can fail. It needs no go list: a
// small tree and a document that describes it exactly, under the real
// document's layers table, report nothing; each mutation of one or the
// other must add the problem it is about.
func TestChecksCatchDrift(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(moduleRoot(t), docFile))
	if err != nil {
		t.Fatal(err)
	}
	real := string(raw)
	a := strings.Index(real, "```arch-layers\n")
	b := strings.Index(real[a+3:], "```") + a + 3
	if a < 0 || b < a {
		t.Fatalf("%s has no arch-layers block", docFile)
	}
	layersBlock := real[a : b+3]

	packages := []struct{ name, layer, imports string }{
		{"internal/config", "base", "-"},
		{".", "root", "internal/config golang.org/x/time"},
		{"internal/transport", "transport", ". internal/config github.com/go-resty/resty/v2"},
		{"internal/fakeserver", "fakekit", "."},
		{"royalpay", "provider", ". internal/transport"},
		{"royalpay/royalpaytest", "fake", ". internal/fakeserver"},
		{"payout", "portable", "."},
		{"payout/royalpaypayout", "driver", ". payout royalpay"},
		{"ledger", "ledger", ". payout"},
		{"examples/royalpay", "example", ". royalpay royalpay/royalpaytest"},
	}
	tr := tree{imports: map[string][]string{}, tests: map[string][]string{}, deps: map[string][]string{}}
	var lines []string
	for _, p := range packages {
		imps := strings.Fields(p.imports)
		if p.imports == "-" {
			imps = nil
		}
		tr.imports[p.name] = canonical(imps)
		tr.tests[p.name] = []string{"github.com/stretchr/testify"}
		tr.deps[p.name] = nil
		lines = append(lines, format(p.name, p.layer, imps))
	}
	text := "# Architecture\n\n" + layersBlock + "\n\n```arch-packages\n" + strings.Join(lines, "\n") + "\n```\n"
	run := func(text string, tr tree) []string {
		var r report
		if d, ok := readDoc(&r, text); ok {
			check(&r, d, tr)
		}
		return r.problems
	}
	if got := run(text, tr); len(got) > 0 {
		t.Fatalf("the exact document of the small tree has problems:\n%s\n%s", strings.Join(got, "\n"), text)
	}

	// line returns the line of a block for a package or a layer, as
	// written: the name, then a run of blanks.
	line := func(name string) string {
		for _, l := range strings.Split(text, "\n") {
			if strings.HasPrefix(l, name+"  ") {
				return l
			}
		}
		t.Fatalf("no line for %s", name)
		return ""
	}
	replace := func(old, new string) string {
		if !strings.Contains(text, old) {
			t.Fatalf("%q is not in the document", old)
		}
		return strings.Replace(text, old, new, 1)
	}
	change := func(f func(c tree)) tree {
		c := tree{imports: map[string][]string{}, tests: map[string][]string{}, deps: map[string][]string{}}
		for k, v := range tr.imports {
			c.imports[k] = slices.Clone(v)
			c.tests[k] = slices.Clone(tr.tests[k])
			c.deps[k] = slices.Clone(tr.deps[k])
		}
		f(c)
		return c
	}

	rr := line("payout/royalpaypayout")
	layers := line("provider")
	cases := []struct {
		name string
		text string
		tree tree
		want []string // each must be in some problem
	}{
		{"no blocks", "# Architecture\n", tr, []string{"has no ```arch-layers"}},
		{"package missing", replace(rr+"\n", ""), tr, []string{"package payout/royalpaypayout is missing", "\t" + format("payout/royalpaypayout", "driver", []string{".", "payout", "royalpay"})}},
		{"new package", text, change(func(c tree) { c.imports["payout/mempayout"] = []string{".", "payout"} }), []string{"package payout/mempayout is missing", "\t" + format("payout/mempayout", "driver", []string{".", "payout"})}},
		{"package gone", replace(rr+"\n", rr+"\n"+format("payout/gonepayout", "driver", []string{".", "payout"})+"\n"), tr, []string{"payout/gonepayout is listed but is not a package"}},
		{"arrow not listed", replace(rr, strings.Replace(rr, " royalpay", "", 1)), tr, []string{"the imports of payout/royalpaypayout differ", "imported, not listed: [royalpay]"}},
		{"arrow listed, not in code", replace(rr, rr+" ledger"), tr, []string{"listed, not imported: [ledger]"}},
		{"provider imports the portable layer", replace(line("royalpay"), line("royalpay")+" payout"), change(func(c tree) { c.imports["royalpay"] = canonical(append(c.imports["royalpay"], "payout")) }),
			[]string{"royalpay (layer provider) imports payout (layer portable)"}},
		{"ledger imports a driver", replace(line("ledger"), line("ledger")+" payout/royalpaypayout"), change(func(c tree) { c.imports["ledger"] = canonical(append(c.imports["ledger"], "payout/royalpaypayout")) }),
			[]string{"ledger (layer ledger) imports payout/royalpaypayout (layer driver)"}},
		{"layers table breaks a rule", replace(layers, strings.Replace(layers, "root transport obs", "root transport obs portable", 1)), tr, []string{"layer provider may import only [base root transport obs], not portable"}},
		{"unknown layer", replace(rr, strings.Replace(rr, "driver", "drivers", 1)), tr, []string{"is in layer \"drivers\""}},
		{"root moved out of its layer", replace(line("."), strings.Replace(line("."), "root ", "base ", 1)), tr, []string{"package . must be in layer root"}},
		{"a fake outside the fake layer", replace(line("royalpay/royalpaytest"), strings.Replace(line("royalpay/royalpaytest"), "fake   ", "suite  ", 1)), tr, []string{"is the fake of provider royalpay"}},
		{"resty outside transport", text, change(func(c tree) {
			c.imports["royalpay"] = canonical(append(c.imports["royalpay"], "github.com/go-resty/resty/v2"))
		}),
			[]string{"royalpay imports github.com/go-resty/resty/v2, which only [internal/transport] may import"}},
		{"unknown dependency", text, change(func(c tree) { c.imports["payout"] = canonical(append(c.imports["payout"], "github.com/urfave/cli")) }),
			[]string{"payout imports github.com/urfave/cli, which is not one of the module's allowed dependencies"}},
		{"payout pulls cobra", text, change(func(c tree) { c.deps["payout"] = append(c.deps["payout"], "github.com/spf13/cobra") }), []string{"payout (layer portable) depends on github.com/spf13/cobra"}},
		{"the ledger imports the OpenTelemetry SDK", text, change(func(c tree) {
			c.imports["ledger"] = canonical(append(c.imports["ledger"], "go.opentelemetry.io/otel/sdk"))
		}),
			[]string{"ledger (layer ledger) imports go.opentelemetry.io/otel/sdk: the OpenTelemetry SDK"}},
		{"payout pulls an exporter", text, change(func(c tree) {
			c.deps["payout"] = append(c.deps["payout"], "go.opentelemetry.io/otel/exporters/prometheus")
		}), []string{"payout (layer portable) depends on go.opentelemetry.io/otel/exporters/prometheus"}},
		{"a test imports an unknown module", text, change(func(c tree) { c.tests["ledger"] = append(c.tests["ledger"], "github.com/chromedp/chromedp") }), []string{"ledger has tests that import github.com/chromedp/chromedp"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := run(c.text, c.tree)
			for _, w := range c.want {
				if !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, w) }) {
					t.Errorf("no problem says %q; problems:\n%s", w, strings.Join(got, "\n"))
				}
			}
		})
	}
}
