// Package cli is what edgecert's command line subcommands (status, explain,
// renew, inspect, check) do, apart from their flags: each gathers a report
// from the cluster (or a live TLS endpoint) into a plain struct, and
// prints it as a table, JSON or YAML. cmd/edgecert only wires flags to it.
//
// The reports are built from what edgecert writes (status, conditions,
// events, Secrets): the command line never talks to a CA or a DNS server,
// so it sees what the controller sees and needs only read access (renew
// needs patch on Certificates).
package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/pflag"
	"golang.org/x/term"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/edgecert/edgecert/internal/scheme"
)

// Kube is how a subcommand reaches the cluster: the kubeconfig, context
// and namespace as kubectl takes them (KUBECONFIG, ~/.kube/config, the
// context's namespace).
type Kube struct {
	Kubeconfig string
	Context    string
	Namespace  string
	// AllNamespaces is -A, for the subcommands that list.
	AllNamespaces bool
}

// Bind adds --kubeconfig, --context and -n/--namespace to fs.
func (k *Kube) Bind(fs *pflag.FlagSet) {
	fs.StringVar(&k.Kubeconfig, "kubeconfig", "", "Path to the kubeconfig file (default: $KUBECONFIG or ~/.kube/config, as kubectl).")
	fs.StringVar(&k.Context, "context", "", "The kubeconfig context to use.")
	fs.StringVarP(&k.Namespace, "namespace", "n", "", "Namespace (default: the context's namespace).")
}

// BindAll adds -A/--all-namespaces to fs.
func (k *Kube) BindAll(fs *pflag.FlagSet) {
	fs.BoolVarP(&k.AllNamespaces, "all-namespaces", "A", false, "Look in every namespace.")
}

// Connect loads the kubeconfig with client-go's loading rules and returns
// a client for edgecert's kinds and the namespace to work in: -n, else the
// context's, else "default".
func (k *Kube) Connect() (client.Client, string, error) {
	cfg, ns, err := k.Config()
	if err != nil {
		return nil, "", err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme.New()})
	if err != nil {
		return nil, "", fmt.Errorf("connect to the cluster: %w", err)
	}
	return c, ns, nil
}

// Config is the REST config and namespace Connect uses.
func (k *Kube) Config() (*rest.Config, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = k.Kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: k.Context}
	if k.Namespace != "" {
		overrides.Context.Namespace = k.Namespace
	}
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	cfg, err := loader.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("load kubeconfig (set --kubeconfig, KUBECONFIG or ~/.kube/config, and --context): %w", err)
	}
	ns, _, err := loader.Namespace()
	if err != nil {
		return nil, "", fmt.Errorf("namespace from kubeconfig: %w", err)
	}
	return cfg, ns, nil
}

// Output formats.
const (
	Table = "table"
	JSON  = "json"
	YAML  = "yaml"
)

// Printer writes reports: Format is Table, JSON or YAML; Color turns on
// ANSI colours in tables (only for a terminal, see NewPrinter).
type Printer struct {
	Out    io.Writer
	Format string
	Color  bool
	// Now is the clock relative times ("in 59d") are shown against.
	Now func() time.Time
}

// NewPrinter prints to out in format, with colours when out is a terminal
// and NO_COLOR is not set.
func NewPrinter(out io.Writer, format string) (*Printer, error) {
	switch format {
	case "", Table:
		format = Table
	case JSON, YAML:
	default:
		return nil, fmt.Errorf("unknown output format %q: use -o table, json or yaml", format)
	}
	color := false
	if f, ok := out.(*os.File); ok && format == Table && os.Getenv("NO_COLOR") == "" {
		color = term.IsTerminal(int(f.Fd()))
	}
	return &Printer{Out: out, Format: format, Color: color, Now: time.Now}, nil
}

// BindOutput adds -o/--output to fs.
func BindOutput(fs *pflag.FlagSet, format *string) {
	fs.StringVarP(format, "output", "o", Table, "Output format: table, json or yaml.")
}

// structured prints v as JSON or YAML and reports whether it did (false
// for tables).
func (p *Printer) structured(v any) (bool, error) {
	switch p.Format {
	case JSON:
		enc := json.NewEncoder(p.Out)
		enc.SetIndent("", "  ")
		return true, enc.Encode(v)
	case YAML:
		data, err := yaml.Marshal(v)
		if err != nil {
			return true, err
		}
		_, err = p.Out.Write(data)
		return true, err
	}
	return false, nil
}

// ANSI colours for states.
const (
	green  = "\x1b[32m"
	yellow = "\x1b[33m"
	red    = "\x1b[31m"
	reset  = "\x1b[0m"
)

// paint colours a state word by how good it is, when colours are on.
func (p *Printer) paint(state string) string {
	if !p.Color {
		return state
	}
	switch stateTone[state] {
	case good:
		return green + state + reset
	case pending:
		return yellow + state + reset
	case bad:
		return red + state + reset
	}
	return state
}

type tone int

const (
	neutral tone = iota
	good
	pending
	bad
)

// stateTone says how each state word reads.
var stateTone = map[string]tone{
	StateReady: good, StateAccepted: good, StateOK: good,
	StateRenewing: pending, StateIssuing: pending, StatePending: pending, StateWaiting: pending,
	StateFailed: bad, StateStalled: bad, StateConflict: bad, StateNotReady: bad, StateExpired: bad, StateBlocked: bad,
}

// table writes rows under a header into b, columns aligned on what shows
// (colour codes take no room) and two spaces apart.
func table(b *strings.Builder, header []string, rows [][]string) {
	all := append([][]string{header}, rows...)
	var widths []int
	for _, r := range all {
		for i, cell := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], visibleWidth(cell))
		}
	}
	for _, r := range all {
		for i, cell := range r {
			b.WriteString(cell)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-visibleWidth(cell)+2))
			}
		}
		b.WriteString("\n")
	}
}

// ansi matches colour codes.
var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// visibleWidth is how many characters s takes on a terminal.
func visibleWidth(s string) int {
	return utf8.RuneCountInString(ansi.ReplaceAllString(s, ""))
}

// keyValues writes "key: value" lines into b, values aligned.
func keyValues(b *strings.Builder, lines [][]string) {
	for _, l := range lines {
		b.WriteString(l[0] + strings.Repeat(" ", max(1, 17-len(l[0]))) + l[1] + "\n")
	}
}

// emit writes what a Print method rendered, in one write.
func (p *Printer) emit(b *strings.Builder) error {
	_, err := io.WriteString(p.Out, b.String())
	return err
}

// when shows a time as a date and how far it is from now: "2027-02-28
// (in 89d)", "2026-01-02 (3d ago)"; "-" for none.
func (p *Printer) when(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	d := t.Sub(p.Now())
	return t.UTC().Format("2006-01-02 15:04") + " (" + relative(d) + ")"
}

// relative is a duration in the largest whole unit: "in 89d", "3h ago".
func relative(d time.Duration) string {
	ago := d < 0
	if ago {
		d = -d
	}
	var s string
	switch {
	case d >= 48*time.Hour:
		s = fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	case d >= time.Hour:
		s = fmt.Sprintf("%dh", int(d/time.Hour))
	case d >= time.Minute:
		s = fmt.Sprintf("%dm", int(d/time.Minute))
	default:
		s = fmt.Sprintf("%ds", int(d/time.Second))
	}
	if ago {
		return s + " ago"
	}
	return "in " + s
}

// clip shortens s to n characters for a table cell.
func clip(s string, n int) string {
	if s == "" {
		return "-"
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// or is s, or "-" when empty.
func or(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
