package bundle

// MaxSecretBytes is the API server's limit on a Secret's data: the sum of
// its values may not pass 1 MiB (k8s.io/kubernetes/pkg/apis/core
// MaxSecretSize). A bundle over it is refused whole, so no source, renewals
// included, would reach the gateway any more.
const MaxSecretBytes = 1 << 20

// Budget bounds what a merge writes into the bundle Secret.
type Budget struct {
	// Bytes bounds the bundle's entries, keys and values, plus its origin
	// record (EncodeOrigins), which travels in the same object.
	Bytes int
	// OriginRecordBytes bounds the origin record alone: it is an
	// annotation, and the API server refuses an object whose annotations
	// together pass 256 KiB.
	OriginRecordBytes int
}

// DefaultBudget is 960 KiB for entries and record together: under the
// 1 MiB of MaxSecretBytes (which counts values only), with 64 KiB left of
// that MiB for what else the object carries (labels, other annotations
// people add, owner references, managed fields), so the stored object also
// stays far below etcd's 1.5 MiB request limit. The origin record gets at
// most 128 KiB, half of the 256 KiB annotation limit. With ACME chains of
// about 4 KiB (chain and key), some 235 sources fit.
var DefaultBudget = Budget{Bytes: 960 << 10, OriginRecordBytes: 128 << 10}

// orDefault is b, or DefaultBudget when b is zero.
func (b Budget) orDefault() Budget {
	if b == (Budget{}) {
		return DefaultBudget
	}
	return b
}

// bytesOf is what a candidate costs: its two entries, keys and values,
// and its line in the origin record.
func (c candidate) bytesOf() (total, record int) {
	record = originRecordCost(c.CertKey, c.origin)
	return len(c.CertKey) + len(c.cert) + len(c.KeyKey) + len(c.key) + record, record
}

// emptyRecordBytes is the size of an empty origin record, "{}".
const emptyRecordBytes = 2
