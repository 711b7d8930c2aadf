// Package testenv starts edgecert's real test bed on loopback and free ports:
// kube-apiserver + etcd through envtest (with edgecert's, Istio's and Gateway
// API's CRDs), Pebble as the ACME CA and BIND 9 as the DNS server. Tests start
// it once per package in TestMain; `make demo` starts the same thing.
//
// Nothing here is a fake: when a component is missing, Start fails with the
// command that installs it, and the test fails.
package testenv

// Options choose what the test bed runs.
type Options struct {
	// BIND configures the name server.
	BIND BINDOptions
	// Pebble configures the ACME CA; DNSServer defaults to the test BIND.
	Pebble PebbleOptions
	// ControlPlane configures the API server.
	ControlPlane ControlPlaneOptions
	// WithoutControlPlane skips kube-apiserver and etcd, for packages that
	// only need DNS and ACME.
	WithoutControlPlane bool
}

// Bed is a running test bed.
type Bed struct {
	ControlPlane *ControlPlane
	BIND         *BIND
	Pebble       *Pebble
}

// Start starts BIND, then Pebble resolving through it, then the control
// plane. On error, whatever started is stopped again.
func Start(opts Options) (*Bed, error) {
	b := &Bed{}
	var err error
	if b.BIND, err = StartBIND(opts.BIND); err != nil {
		return nil, err
	}
	if opts.Pebble.DNSServer == "" {
		opts.Pebble.DNSServer = b.BIND.Addr
	}
	if b.Pebble, err = StartPebble(opts.Pebble); err != nil {
		b.Stop()
		return nil, err
	}
	if !opts.WithoutControlPlane {
		if b.ControlPlane, err = StartControlPlaneWith(opts.ControlPlane); err != nil {
			b.Stop()
			return nil, err
		}
	}
	return b, nil
}

// Stop ends every component that runs, in reverse order of start.
func (b *Bed) Stop() {
	if b == nil {
		return
	}
	if b.ControlPlane != nil {
		b.ControlPlane.Stop()
	}
	if b.Pebble != nil {
		b.Pebble.Stop()
	}
	if b.BIND != nil {
		b.BIND.Stop()
	}
}
