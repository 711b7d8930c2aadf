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
	// ReasonProgressing: work is under way; look again later.
	ReasonProgressing = "Progressing"
	// ReasonInvalidSpec: the spec cannot be acted on; the message says which
	// field and why.
	ReasonInvalidSpec = "InvalidSpec"
	// ReasonTransientError (on Reconciling): the last pass failed for a
	// reason that should pass by itself (network, CA or API server
	// errors); the message says which, and edgecert retries with backoff.
	ReasonTransientError = "TransientError"
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
	// ReasonManagedByCertManager: the Secret was issued by cert-manager and
	// its cert-manager Certificate still exists; edgecert waits for it to
	// go (or for edgecert.dev/adopt: "true") and never writes the Secret
	// meanwhile. Looked at again every minute.
	ReasonManagedByCertManager = "ManagedByCertManager"
	// ReasonSecretNotAdoptable: the Secret was issued by cert-manager but
	// does not match the Certificate (hosts, key, expired, unparsable);
	// it is neither adopted nor overwritten.
	ReasonSecretNotAdoptable = "SecretNotAdoptable"
	// ReasonDNSNotAuthorized: the DNS provider refused to publish a
	// challenge record (a wrong TSIG key, missing IAM permissions); the
	// message holds the provider's words. Stalled until the credentials
	// are fixed; the order is kept and edgecert looks again every few
	// minutes.
	ReasonDNSNotAuthorized = "DNSNotAuthorized"
	// ReasonWaitingForDNSPropagation: a challenge record is published and
	// not yet served by every authoritative server; the message names it.
	// Bounded: an order whose records stay invisible is abandoned.
	ReasonWaitingForDNSPropagation = "WaitingForDNSPropagation"
	// ReasonWaitingForHTTP01Reachability: edgecert's self-check could not
	// yet fetch an HTTP-01 answer the way the CA would (the host does not
	// resolve, nothing answers, another answer comes back); the message
	// names the URL and the error. The CA is not told to validate until it
	// can (a failed validation counts against its limits); the check is
	// retried with a backoff of up to 30 seconds, and the order is
	// abandoned only when it reaches the maximum order age.
	ReasonWaitingForHTTP01Reachability = "WaitingForHTTP01Reachability"
	// ReasonOrderAbandoned: an order in flight was given up without the CA
	// failing it (too old, expired at the CA, its records never became
	// visible); its records were removed and a new attempt follows after
	// the backoff.
	ReasonOrderAbandoned = "OrderAbandoned"
	// ReasonReplacesRejected: the CA refused a renewal order naming the
	// certificate it replaces (RFC 9773); the next attempt, after the
	// backoff, orders without naming it.
	ReasonReplacesRejected = "ReplacesRejected"
	// ReasonChallengeRouteFailed: the HTTP-01 route through Istio cannot
	// be made (its Gateway is missing, an object of its name is not
	// edgecert's, or it would not pass istiod's validation); the message
	// says which. Looked at again every minute.
	ReasonChallengeRouteFailed = "ChallengeRouteFailed"
)

// Event reasons. Events say what happened, once, when it happened; a pass
// that changes nothing records none. The reasons of conditions above are
// also event reasons where an event says the same (Issued, OrderFailed,
// AccountRegistered, ...); these are events only.

// Certificate events.
const (
	// ReasonRenewalWindowMoved: the CA moved the certificate's renewal
	// window (ACME Renewal Information) and edgecert moved renewalTime.
	ReasonRenewalWindowMoved = "RenewalWindowMoved"
	// ReasonCleanUpFailed: challenge records or routes of an order that
	// ended (or of a Certificate deleted mid-order) could not all be
	// removed; the note names what is left.
	ReasonCleanUpFailed = "CleanUpFailed"
	// ReasonAdoptedFromCertManager: edgecert took over a Secret that
	// cert-manager issued, without a new order.
	ReasonAdoptedFromCertManager = "AdoptedFromCertManager"
	// ReasonChallengeRouted: the Gateway and VirtualService that route
	// HTTP-01 challenges through Istio were created.
	ReasonChallengeRouted = "ChallengeRouted"
	// ReasonChallengeRedirected: a Gateway redirects a host to HTTPS before
	// any route; the CA follows the redirect to port 443.
	ReasonChallengeRedirected = "ChallengeRedirected"
)

// Events on the sources of shim-generated Certificates (annotated Istio
// Gateways, Gateway API Gateways, Ingresses) and on GatewayServices.
const (
	// ReasonCertificateCreated: a Certificate was created for the object.
	ReasonCertificateCreated = "CertificateCreated"
	// ReasonCertificateUpdated: the object's hosts or options changed.
	ReasonCertificateUpdated = "CertificateUpdated"
	// ReasonCertificateDeleted: the object no longer asks for it.
	ReasonCertificateDeleted = "CertificateDeleted"
	// ReasonCertificateConflict: a Certificate of that name exists and
	// belongs to something else; it is left alone.
	ReasonCertificateConflict = "CertificateConflict"
	// ReasonUnsupportedAnnotation: cert-manager annotations edgecert does
	// not apply (with the cert-manager compatibility switch on); the note
	// names each and why.
	ReasonUnsupportedAnnotation = "UnsupportedAnnotation"
	// ReasonBadAnnotation: the object's annotations cannot be acted on;
	// its Certificates are left as they are.
	ReasonBadAnnotation = "BadAnnotation"
	// ReasonCredentialNameSet: edgecert named the issued Secret in a
	// server that had no credentialName.
	ReasonCredentialNameSet = "CredentialNameSet"
	// ReasonCertificateIssued: a generated Certificate became Ready; its
	// Secret holds a certificate for its current hosts.
	ReasonCertificateIssued = "CertificateIssued"
	// ReasonReferenceNotPermitted: a Gateway API listener names a Secret
	// in another namespace and no ReferenceGrant there permits it; no
	// Certificate is made for that Secret.
	ReasonReferenceNotPermitted = "ReferenceNotPermitted"
	// ReasonRouteHostNotClaimed (on a Gateway API route): the route asks
	// an opted-in Gateway's catch-all listener for hosts its namespace has
	// not claimed; its hostnames are left out of the Gateway's
	// Certificate, the other routes' are kept.
	ReasonRouteHostNotClaimed = "RouteHostNotClaimed"
	// ReasonTooManyHosts (on a Gateway API Gateway): a listener's
	// Certificate would name more hosts than a certificate may hold; it
	// names the first 100 in sorted order.
	ReasonTooManyHosts = "TooManyHosts"
	// ReasonListenerSetNotAllowed (on a ListenerSet): its parent Gateway
	// is missing or does not admit ListenerSets of its namespace
	// (spec.allowedListeners); no Certificate for its listeners.
	ReasonListenerSetNotAllowed = "ListenerSetNotAllowed"
)

// GatewayService events.
const (
	// ReasonServerAdded, ReasonServerUpdated, ReasonServerRemoved: edgecert
	// changed the GatewayService's server in the Gateway.
	ReasonServerAdded   = "ServerAdded"
	ReasonServerUpdated = "ServerUpdated"
	ReasonServerRemoved = "ServerRemoved"
	// ReasonGatewayCreated, ReasonGatewayDeleted: edgecert created the
	// policy's Gateway, or deleted it once it created it and no server is
	// left.
	ReasonGatewayCreated = "GatewayCreated"
	ReasonGatewayDeleted = "GatewayDeleted"
	// ReasonSecretCopied: the TLS Secret was copied into the gateway
	// workload namespace.
	ReasonSecretCopied = "SecretCopied"
)

// CertMerge events.
const (
	// ReasonBundleUpdated: the bundle Secret was written with new content.
	ReasonBundleUpdated = "BundleUpdated"
	// ReasonWorkloadRolled: a workload's pod template got the new bundle
	// checksum, so its pods restart with the new files.
	ReasonWorkloadRolled = "WorkloadRolled"
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
	// ReasonBundleTooLarge: some good sources do not fit the bundle's size
	// budget (a Secret holds at most 1 MiB) and are left out; the bundle
	// keeps being written with the sources that fit. Also the reason of a
	// status.excluded entry and of the warning event naming them.
	ReasonBundleTooLarge = "BundleTooLarge"
	// ReasonWorkloadForbidden: edgecert may not roll a workload; its
	// namespace has not bound the edgecert-rollout ClusterRole.
	ReasonWorkloadForbidden = "WorkloadForbidden"
	// ReasonAllSourcesIncluded: SourcesReady is True.
	ReasonAllSourcesIncluded = "AllSourcesIncluded"
	// ReasonNoCollision: KeysUnique is True.
	ReasonNoCollision = "NoCollision"
)

// GatewayService reasons. Ready=True has ServerReady; every other reason
// comes with Ready=False, and the message names the host, port, Secret or
// competing server involved.
const (
	// ReasonServerReady: the server is in the Gateway as the spec asks.
	ReasonServerReady = "ServerReady"
	// ReasonNoGateway: no GatewayPolicy names a Gateway for the traffic
	// type (Stalled).
	ReasonNoGateway = "NoGateway"
	// ReasonHostNotClaimed: a host is not claimed for this namespace by a
	// GatewayPolicy (Stalled). A GatewayService's server is removed; a
	// Certificate gets no order.
	ReasonHostNotClaimed = "HostNotClaimed"
	// ReasonIssuerNotAllowed: the Certificate's issuer does not allow its
	// namespace or one of its hosts (spec.allowed; Stalled, no order).
	ReasonIssuerNotAllowed = "IssuerNotAllowed"
	// ReasonWorkloadNamespaceNotAllowed (event on an Istio Gateway): the
	// gateway pods its selector picks run in a namespace the platform did
	// not allow for generated Certificates, or the Gateway names a
	// namespaced Issuer there.
	ReasonWorkloadNamespaceNotAllowed = "WorkloadNamespaceNotAllowed"
	// ReasonGatewayNotFound: the policy's Gateway does not exist and
	// edgecert may not create it; edgecert waits for it.
	ReasonGatewayNotFound = "GatewayNotFound"
	// ReasonHostConflict: another server on the same port serves an
	// overlapping host and keeps it (it was there first, or is older).
	ReasonHostConflict = "HostConflict"
	// ReasonPortConflict: the port is used by another server with a
	// protocol that cannot share it, or by a plain TCP server.
	ReasonPortConflict = "PortConflict"
	// ReasonPortNameConflict: another server has the same port name.
	ReasonPortNameConflict = "PortNameConflict"
	// ReasonSecretNotFound: secretRef or clientCASecretRef names a Secret
	// that does not exist.
	ReasonSecretNotFound = "SecretNotFound"
	// ReasonSecretInvalid: the Secret does not parse, its key does not
	// match, or its certificate does not cover every host.
	ReasonSecretInvalid = "SecretInvalid"
	// ReasonCertificateNotReady: the Certificate for issuerRef is not
	// issued yet; the server is added when it is.
	ReasonCertificateNotReady = "CertificateNotReady"
	// ReasonCertificateNotOwned: a Certificate of the name edgecert needs
	// exists and belongs to someone else.
	ReasonCertificateNotOwned = "CertificateNotOwned"
	// ReasonGatewayRejected: the API server refused the Gateway edgecert
	// wrote (a validating webhook, for instance); the message says why.
	ReasonGatewayRejected = "GatewayRejected"
)

// DNSZone conditions.
const (
	// PublishedCondition is True on a DNSZone when every host of its
	// sources has its records; False names the hosts held by another
	// owner (DNSOwnerConflict) or skipped (HostsSkipped).
	PublishedCondition = "Published"
)

// DNSZone reasons.
const (
	// ReasonHostsSkipped: some hosts are not published (outside the
	// domain filters, "*", no target); status.skipped says why.
	ReasonHostsSkipped = "HostsSkipped"
	// ReasonRecordsInSync: every host the zone should publish has its
	// records, and no owned record is left that should not be.
	ReasonRecordsInSync = "RecordsInSync"
	// ReasonDNSProviderError: the DNS service failed a list or a change;
	// the message is its answer, and edgecert retries with backoff.
	ReasonDNSProviderError = "DNSProviderError"
	// ReasonDNSOwnerConflict: some hosts are held by records edgecert does
	// not own; status.ownerConflicts names them and nothing is written
	// there.
	ReasonDNSOwnerConflict = "DNSOwnerConflict"
)

// DNSZone events.
const (
	// ReasonDNSRecordsChanged: records were created, updated or deleted in
	// the zone; the message counts them.
	ReasonDNSRecordsChanged = "DNSRecordsChanged"
	// ReasonDNSRecordsPublished, ReasonDNSRecordsRemoved: on a source
	// (GatewayService, Istio Gateway), its hosts' records were created or
	// updated, or deleted, in a DNSZone; the message names them.
	ReasonDNSRecordsPublished = "DNSRecordsPublished"
	ReasonDNSRecordsRemoved   = "DNSRecordsRemoved"
)
