package v1alpha1

// Condition types shared by every edgecert kind. They follow kstatus: Ready
// is the summary a person or a tool looks at first; Reconciling says work is
// in progress; Stalled says a person must act. Domain conditions are few and
// positive.
const (
	// ReadyCondition is True when the object does what it asks for: an
	// issuer's account is registered, a certificate's Secret holds a valid
	// certificate for the current spec.
	ReadyCondition = "Ready"
	// ReconcilingCondition is True while edgecert is working towards Ready
	// (an order in flight, DNS propagating). Absent in steady state.
	ReconcilingCondition = "Reconciling"
	// StalledCondition is True when edgecert cannot progress without a
	// person: an invalid spec, a missing reference, a refused account.
	StalledCondition = "Stalled"
	// IssuingCondition is True on a Certificate while a new certificate is
	// being obtained (first issuance, renewal or re-issuance after a spec
	// change); its reason says why.
	IssuingCondition = "Issuing"
)

// Reasons shared by several kinds. Reasons are CamelCase and stable; the
// condition message carries the details.
const (
	// ReasonReady: the object is up to date.
	ReasonReady = "Ready"
	// ReasonProgressing: work is under way; look again later.
	ReasonProgressing = "Progressing"
	// ReasonInvalidSpec: the spec cannot be acted on; the message says which
	// field and why.
	ReasonInvalidSpec = "InvalidSpec"
)

// Issuer and ClusterIssuer reasons.
const (
	// ReasonAccountRegistered: the ACME account exists and is valid.
	ReasonAccountRegistered = "AccountRegistered"
	// ReasonAccountFailed: the CA refused or could not be reached; the
	// message holds the CA's problem document.
	ReasonAccountFailed = "AccountFailed"
)

// Certificate reasons.
const (
	// ReasonIssued: the Secret holds a valid certificate for the spec.
	ReasonIssued = "Issued"
	// ReasonDoesNotExist: no certificate has been issued yet.
	ReasonDoesNotExist = "DoesNotExist"
	// ReasonRenewing: the renewal time has come.
	ReasonRenewing = "Renewing"
	// ReasonSpecChanged: hosts or key changed; re-issuing.
	ReasonSpecChanged = "SpecChanged"
	// ReasonSecretMismatch: the Secret is missing, unparsable or does not
	// match the spec; re-issuing.
	ReasonSecretMismatch = "SecretMismatch"
	// ReasonIssuerNotReady: the referenced issuer is missing or not Ready.
	ReasonIssuerNotReady = "IssuerNotReady"
	// ReasonOrderFailed: the CA failed the order or a challenge; the message
	// holds the CA's problem; edgecert retries with exponential backoff.
	ReasonOrderFailed = "OrderFailed"
	// ReasonRateLimited: the CA asked edgecert to wait (HTTP 429).
	ReasonRateLimited = "RateLimited"
	// ReasonSecretNotOwned: a Secret of that name exists and edgecert did not
	// create it; edgecert does not overwrite it.
	ReasonSecretNotOwned = "SecretNotOwned"
)

// CertMerge and ClusterCertMerge conditions. Both are True in steady state;
// when either is False, Ready is False too and the bundle holds every source
// that is still good.
const (
	// SourcesReadyCondition is True when every selected source is in the
	// bundle with its current data. False names the sources left out (not
	// found, not permitted, not TLS, invalid) or kept at their last good
	// data.
	SourcesReadyCondition = "SourcesReady"
	// KeysUniqueCondition is True when no two sources map to the same
	// bundle entry. False names both sources of each collision; the source
	// first in namespace/name order keeps the entry.
	KeysUniqueCondition = "KeysUnique"
)

// CertMerge reasons.
const (
	// ReasonBundleUpToDate: the bundle holds every selected source.
	ReasonBundleUpToDate = "BundleUpToDate"
	// ReasonSourcesExcluded: some selected sources are not in the bundle
	// with their current data; status.excluded says which and why.
	ReasonSourcesExcluded = "SourcesExcluded"
	// ReasonKeyCollision: two sources map to the same bundle entry.
	ReasonKeyCollision = "KeyCollision"
	// ReasonWorkloadNotFound: a workload to roll does not exist.
	ReasonWorkloadNotFound = "WorkloadNotFound"
	// ReasonAllSourcesIncluded: SourcesReady is True.
	ReasonAllSourcesIncluded = "AllSourcesIncluded"
	// ReasonNoCollision: KeysUnique is True.
	ReasonNoCollision = "NoCollision"
)
