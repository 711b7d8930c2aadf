package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/edgecert/edgecert/internal/cli"
	"github.com/edgecert/edgecert/internal/migrate"
)

func newMigrateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Move a cluster to edgecert from another tool",
	}
	cmd.AddCommand(newMigrateCertManagerCommand())
	return cmd
}

func newMigrateCertManagerCommand() *cobra.Command {
	var (
		kube  cli.Kube
		files []string
		apply bool
		opts  migrate.Options
	)
	cmd := &cobra.Command{
		Use:   "cert-manager",
		Short: "Convert cert-manager's ClusterIssuers, Issuers and Certificates into edgecert's",
		Long: `Read cert-manager's ClusterIssuers, Issuers and Certificates from the
cluster (or from YAML files with -f), print the edgecert objects they
become on standard output and, on standard error, a report: each object
converted, partly converted (what was left out and why) or skipped (why).
With --apply, copy the Secrets a ClusterIssuer reads (its ACME account
key, so the account is kept, and its DNS credentials) from cert-manager's
namespace to edgecert's and create the objects; nothing of cert-manager's
is changed and nothing that exists is overwritten.

Then delete cert-manager's Certificates (not their Secrets): edgecert takes
each Secret over as it is, without a new order (docs/migration.md).`,
		Example: `  edgecert migrate cert-manager > edgecert.yaml
  edgecert migrate cert-manager -f cert-manager-backup.yaml
  edgecert migrate cert-manager --apply`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var (
				in  migrate.Input
				cl  client.Client
				err error
			)
			if apply || len(files) == 0 {
				cfg, _, cerr := kube.Config()
				if cerr != nil {
					return cerr
				}
				if cl, err = client.New(cfg, client.Options{Scheme: migrate.Scheme()}); err != nil {
					return fmt.Errorf("connect to the cluster: %w", err)
				}
			}
			if len(files) > 0 {
				in, err = migrate.ReadFiles(files, cmd.InOrStdin())
			} else {
				in, err = migrate.Read(cmd.Context(), cl)
			}
			if err != nil {
				return err
			}
			res := migrate.Convert(in, opts)
			var out strings.Builder
			for _, o := range res.Objects {
				doc, err := yaml.Marshal(o)
				if err != nil {
					return err
				}
				out.WriteString("---\n")
				out.Write(doc)
			}
			if _, err := fmt.Fprint(cmd.OutOrStdout(), out.String()); err != nil {
				return err
			}
			if _, err := fmt.Fprint(cmd.ErrOrStderr(), res.String()); err != nil {
				return err
			}
			if !apply {
				return nil
			}
			done, err := migrate.Apply(cmd.Context(), cl, res)
			if _, perr := fmt.Fprint(cmd.ErrOrStderr(), strings.Join(append(done, ""), "\n")); err == nil {
				err = perr
			}
			if err != nil {
				return err
			}
			if len(res.Objects) == 0 {
				return errors.New("nothing to create: every object was skipped (see the report)")
			}
			return nil
		},
	}
	fs := cmd.Flags()
	// Not kube.Bind: cert-manager's objects are read in every namespace.
	fs.StringVar(&kube.Kubeconfig, "kubeconfig", "", "Path to the kubeconfig file (default: $KUBECONFIG or ~/.kube/config, as kubectl).")
	fs.StringVar(&kube.Context, "context", "", "The kubeconfig context to use.")
	fs.StringSliceVarP(&files, "filename", "f", nil, "Read cert-manager's objects from these YAML files (\"-\" for standard input) instead of the cluster.")
	fs.BoolVar(&apply, "apply", false, "Copy the Secrets and create the objects in the cluster.")
	fs.StringVar(&opts.CertManagerNamespace, "cert-manager-namespace", "cert-manager", "cert-manager's cluster resource namespace, where its ClusterIssuers' Secrets are.")
	fs.StringVar(&opts.EdgecertNamespace, "edgecert-namespace", "edgecert-system", "edgecert's namespace (its --namespace), where its ClusterIssuers' Secrets go.")
	return cmd
}
