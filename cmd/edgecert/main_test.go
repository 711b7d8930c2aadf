package main

import (
	"bytes"
	"strings"
	"testing"
)

// Linked as kubectl-edgecert, the binary is the kubectl plugin: the root
// command under the name kubectl shows, with every subcommand.
func TestKubectlPluginIsTheRootCommand(t *testing.T) {
	for argv0, want := range map[string]string{
		"/usr/local/bin/kubectl-edgecert": "kubectl edgecert",
		"kubectl-edgecert":                "kubectl edgecert",
		"/usr/local/bin/edgecert":         "edgecert",
		"./bin/edgecert":                  "edgecert",
	} {
		root := rootFor(argv0)
		if root.DisplayName() != want {
			t.Errorf("run as %s: the command is %q, want %q", argv0, root.DisplayName(), want)
		}
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetArgs([]string{"status", "--help"})
		if err := root.Execute(); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "  "+want+" status [-n namespace | -A] [flags]") {
			t.Errorf("run as %s, status --help says:\n%s", argv0, out.String())
		}
	}
}

// Every CLI subcommand takes the kubeconfig as kubectl does, and -o.
func TestSubcommandsTakeKubectlFlags(t *testing.T) {
	root := newRootCommand()
	for _, path := range [][]string{{"status"}, {"explain"}, {"renew"}, {"inspect", "secret"}, {"check"}} {
		cmd, _, err := root.Find(path)
		if err != nil {
			t.Fatalf("%v: %v", path, err)
		}
		for _, name := range []string{"kubeconfig", "context", "namespace", "output"} {
			if cmd.Flags().Lookup(name) == nil {
				t.Errorf("%v has no --%s", path, name)
			}
		}
		if f := cmd.Flags().ShorthandLookup("n"); f == nil || f.Name != "namespace" {
			t.Errorf("%v: -n is not --namespace", path)
		}
	}
	for _, path := range [][]string{{"status"}, {"renew"}, {"check"}} {
		cmd, _, _ := root.Find(path)
		if f := cmd.Flags().ShorthandLookup("A"); f == nil || f.Name != "all-namespaces" {
			t.Errorf("%v: -A is not --all-namespaces", path)
		}
	}
}
