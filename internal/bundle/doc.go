// Package certmerge holds the rules of CertMerge, with no Kubernetes client:
// which Secrets a merge selects and may read, how their entries are named in
// the bundle, which sources are good, how collisions are settled, what the
// bundle's data and checksum are, and the facts its status reports.
//
// The controller reads Secrets and grants, calls Merge, and writes what it
// returns; every decision is here, so it is table-tested without a cluster.
package bundle
