package main

import (
	"flag"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/edgecert/edgecert/internal/manager"
)

func newControllerCommand() *cobra.Command {
	opts := manager.DefaultOptions()
	zapOpts := zap.Options{}
	var kubeconfig string

	cmd := &cobra.Command{
		Use:   "controller",
		Short: "Run the edgecert controller manager",
		Long: `Run the edgecert controller manager against the cluster that --kubeconfig
points at (or the in-cluster configuration when it is empty). Logs are
structured JSON unless --zap-devel is given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
			cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
			if err != nil {
				return fmt.Errorf("load kubeconfig %q: %w", kubeconfig, err)
			}
			mgr, err := manager.New(cfg, opts)
			if err != nil {
				return err
			}
			ctrl.Log.WithName("setup").Info("Starting manager", "metrics", opts.MetricsAddr, "probes", opts.ProbeAddr, "leaderElect", opts.LeaderElect)
			return mgr.Start(ctrl.SetupSignalHandler())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&kubeconfig, "kubeconfig", "", "Path to a kubeconfig; empty means the in-cluster configuration.")
	opts.BindFlags(fs)
	goFlags := flag.NewFlagSet("zap", flag.ContinueOnError)
	zapOpts.BindFlags(goFlags)
	fs.AddGoFlagSet(goFlags)
	return cmd
}
