package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/issuance"
	"github.com/edgecert/edgecert/internal/pki"
)

// States of an explain step.
const (
	// StateOK: this step is done and fine.
	StateOK = "OK"
	// StateWaiting: edgecert is waiting on it (DNS, the CA, a backoff).
	StateWaiting = "Waiting"
	// StateBlocked: it needs a person; edgecert will not get past it alone.
	StateBlocked = "Blocked"
	// StateSkipped: not reached (an earlier step stops the way).
	StateSkipped = "-"
)

// Explanation is what `edgecert explain` shows: the Certificate's state,
// one sentence on why, and the way to a certificate step by step.
type Explanation struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	State     string `json:"state"`
	// Summary says why the Certificate is (not) Ready, in plain words.
	Summary string  `json:"summary"`
	Steps   []Step  `json:"steps"`
	Events  []Event `json:"events,omitempty"`
}

// Step is one stage on the way to a certificate.
type Step struct {
	Step   string `json:"step"`
	State  string `json:"state"`
	Detail string `json:"detail"`
}

// Event is one event recorded on the Certificate.
type Event struct {
	Time   time.Time `json:"time"`
	Type   string    `json:"type"`
	Reason string    `json:"reason"`
	Note   string    `json:"note"`
}

// caReasons are the reasons whose message holds the CA's own words.
var caReasons = map[string]bool{
	edgecertv1alpha1.ReasonOrderFailed:      true,
	edgecertv1alpha1.ReasonRateLimited:      true,
	edgecertv1alpha1.ReasonReplacesRejected: true,
	edgecertv1alpha1.ReasonOrderAbandoned:   true,
}

// policyReasons stop issuance before any order: the spec or the platform's
// policy.
var policyReasons = map[string]bool{
	edgecertv1alpha1.ReasonInvalidSpec:      true,
	edgecertv1alpha1.ReasonHostNotClaimed:   true,
	edgecertv1alpha1.ReasonIssuerNotAllowed: true,
	edgecertv1alpha1.ReasonSecretNotOwned:   true,
}

// Explain reads the Certificate, its issuer, its Secret and its events,
// and lays out where issuance stands: the issuer and its ACME account, the
// spec against the platform's policy, the Secret, the order, each
// challenge, DNS propagation, and what the CA said.
func Explain(ctx context.Context, c client.Client, namespace, name string, now time.Time) (*Explanation, error) {
	cert := &edgecertv1alpha1.Certificate{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, cert); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("certificate %q not found in namespace %q (list them with `edgecert status -n %s`)", name, namespace, namespace)
		}
		return nil, fmt.Errorf("get certificate %s/%s: %w", namespace, name, err)
	}
	st := cert.Status
	state, _, msg := certificateState(st.Conditions, st.NotAfter, now)
	e := &Explanation{Namespace: namespace, Name: name, State: state}
	add := func(step, state, detail string) { e.Steps = append(e.Steps, Step{step, state, detail}) }
	ready := meta.FindStatusCondition(st.Conditions, edgecertv1alpha1.ReadyCondition)
	stalled := meta.FindStatusCondition(st.Conditions, edgecertv1alpha1.StalledCondition)
	reconciling := meta.FindStatusCondition(st.Conditions, edgecertv1alpha1.ReconcilingCondition)
	issuing := meta.FindStatusCondition(st.Conditions, edgecertv1alpha1.IssuingCondition)
	stalledBy := func(r string) bool {
		return stalled != nil && stalled.Status == "True" && stalled.Reason == r
	}
	waitingFor := func(r string) bool {
		return reconciling != nil && reconciling.Status == "True" && reconciling.Reason == r
	}

	if st.ObservedGeneration < cert.Generation {
		add("Controller", StateWaiting, fmt.Sprintf("edgecert has not acted on the latest spec yet (generation %d, status describes %d); is the controller running?", cert.Generation, st.ObservedGeneration))
	}

	// The issuer and its account.
	ref := cert.Spec.IssuerRef
	kind := ref.KindOrDefault()
	var iss edgecertv1alpha1.GenericIssuer = &edgecertv1alpha1.Issuer{}
	key := client.ObjectKey{Namespace: namespace, Name: ref.Name}
	if kind == edgecertv1alpha1.ClusterIssuerKind {
		iss, key = &edgecertv1alpha1.ClusterIssuer{}, client.ObjectKey{Name: ref.Name}
	}
	issuerOK := false
	switch err := c.Get(ctx, key, iss); {
	case apierrors.IsNotFound(err):
		add("Issuer", StateBlocked, fmt.Sprintf("%s %q does not exist", kind, ref.Name))
		add("Account", StateSkipped, "")
	case err != nil:
		add("Issuer", StateSkipped, fmt.Sprintf("cannot read %s %q: %v", kind, ref.Name, err))
		add("Account", StateSkipped, "")
	default:
		ic := meta.FindStatusCondition(iss.GetStatus().Conditions, edgecertv1alpha1.ReadyCondition)
		server := iss.GetSpec().ACME.Server
		switch {
		case ic != nil && ic.Status == "True":
			issuerOK = true
			add("Issuer", StateOK, fmt.Sprintf("%s %q is Ready (ACME server %s)", kind, ref.Name, server))
		case ic == nil:
			add("Issuer", StateWaiting, fmt.Sprintf("%s %q has no status yet (ACME server %s)", kind, ref.Name, server))
		default:
			add("Issuer", StateBlocked, fmt.Sprintf("%s %q is not Ready: %s: %s", kind, ref.Name, ic.Reason, ic.Message))
		}
		if uri := iss.GetStatus().AccountURI; uri != "" {
			add("Account", StateOK, "registered at the CA: "+uri)
		} else if ic != nil && ic.Reason == edgecertv1alpha1.ReasonAccountFailed {
			add("Account", StateBlocked, "the CA said: "+ic.Message)
		} else {
			add("Account", StateWaiting, "not registered yet")
		}
	}

	// The spec against the platform's policy.
	switch {
	case ready != nil && policyReasons[ready.Reason]:
		add("Policy", StateBlocked, plain(ready.Reason, ready.Message))
	case ready != nil:
		add("Policy", StateOK, "hosts "+strings.Join(cert.Spec.DNSNames, ", ")+" may be issued here")
	default:
		add("Policy", StateSkipped, "")
	}

	// The Secret and the certificate it holds.
	secretState, secretDetail := secretStep(ctx, c, cert, now)
	add("Secret", secretState, secretDetail)

	// Renewal.
	switch {
	case st.RenewalTime != nil && ready != nil && ready.Status == "True":
		detail := "next renewal " + st.RenewalTime.UTC().Format(time.RFC3339)
		if v := cert.Annotations[edgecertv1alpha1.RenewRequestedAtAnnotation]; v != "" && v != st.RenewalRequest {
			detail += fmt.Sprintf("; renewal requested (%s) and not answered yet", v)
		}
		add("Renewal", StateOK, detail)
	}

	// The order and its challenges.
	o := st.Order
	switch {
	case o != nil:
		add("Order", StateWaiting, fmt.Sprintf("order %s for %s, created %s (%s)", o.URL, strings.Join(o.DNSNames, ", "), o.Created.UTC().Format(time.RFC3339), relative(o.Created.Sub(now))))
	case st.FailedIssuanceAttempts > 0 && st.LastFailureTime != nil:
		next := st.LastFailureTime.Add(issuance.Backoff(st.FailedIssuanceAttempts))
		detail := fmt.Sprintf("%d failed attempt(s), the last at %s (%s); next attempt at %s (%s), or now with `edgecert renew %s`",
			st.FailedIssuanceAttempts, st.LastFailureTime.UTC().Format(time.RFC3339), st.LastFailureReason, next.UTC().Format(time.RFC3339), relative(next.Sub(now)), name)
		add("Order", StateFailed, detail)
	case ready != nil && ready.Status == "True" && (issuing == nil || issuing.Status != "True"):
		add("Order", StateOK, "none needed")
	case !issuerOK:
		add("Order", StateSkipped, "no order before the issuer is Ready")
	default:
		add("Order", StateSkipped, "no order in flight")
	}
	hasDNS01 := false
	if o != nil {
		for _, ch := range o.Challenges {
			host := ch.DNSName
			if ch.Wildcard {
				host = "*." + host
			}
			step := "Challenge " + ch.Type + " " + host
			switch ch.Type {
			case issuance.DNS01:
				hasDNS01 = true
				where := fmt.Sprintf("TXT record %s in zone %s (solver %d)", ch.RecordName, ch.Zone, ch.Solver)
				switch {
				case stalledBy(edgecertv1alpha1.ReasonDNSNotAuthorized) && strings.Contains(stalled.Message, ch.Zone):
					add(step, StateBlocked, where+": the DNS provider refused it: "+stalled.Message)
				case waitingFor(edgecertv1alpha1.ReasonWaitingForDNSPropagation) && strings.Contains(reconciling.Message, ch.RecordName):
					add(step, StateWaiting, where+": published, not yet served by every authoritative server")
				default:
					add(step, StateWaiting, where+": published; the CA validates it once every authoritative server serves it")
				}
			default:
				where := fmt.Sprintf("answer at http://%s/.well-known/acme-challenge/%s (solver %d)", ch.DNSName, ch.Token, ch.Solver)
				switch {
				case waitingFor(edgecertv1alpha1.ReasonWaitingForHTTP01Reachability) && strings.Contains(reconciling.Message, ch.DNSName):
					add(step, StateWaiting, where+": edgecert cannot fetch it the way the CA will yet: "+reconciling.Message)
				case stalledBy(edgecertv1alpha1.ReasonChallengeRouteFailed):
					add(step, StateBlocked, where+": "+stalled.Message)
				default:
					add(step, StateWaiting, where+": served by every edgecert replica; the CA validates it")
				}
			}
		}
	}
	switch {
	case hasDNS01 && stalledBy(edgecertv1alpha1.ReasonDNSNotAuthorized):
		add("DNS propagation", StateBlocked, "no record can propagate before the DNS provider accepts it; fix the credentials, then `edgecert renew "+name+"`")
	case hasDNS01 && waitingFor(edgecertv1alpha1.ReasonWaitingForDNSPropagation):
		add("DNS propagation", StateWaiting, reconciling.Message)
	case hasDNS01:
		add("DNS propagation", StateOK, "no record is waiting for propagation")
	}

	// What the CA said.
	switch {
	case issuing != nil && caReasons[issuing.Reason] && issuing.Status == "False":
		add("CA", StateFailed, "the CA said: "+issuing.Message)
	case ready != nil && caReasons[ready.Reason]:
		add("CA", StateFailed, "the CA said: "+ready.Message)
	case waitingFor(edgecertv1alpha1.ReasonTransientError):
		add("CA", StateWaiting, "last pass failed, retrying: "+reconciling.Message)
	}

	events, err := certificateEvents(ctx, c, cert)
	if err == nil {
		e.Events = events
	}
	switch {
	case state == StateReady || state == StateRenewing:
		e.Summary = fmt.Sprintf("Ready: the certificate is valid until %s", st.NotAfter.UTC().Format(time.RFC3339))
		if state == StateRenewing {
			e.Summary += "; a renewal is under way"
		}
	case msg != "":
		e.Summary = state + ": " + msg
	case ready != nil:
		e.Summary = state + ": " + plain(ready.Reason, ready.Message)
	default:
		e.Summary = state + ": edgecert has not looked at this Certificate yet"
	}
	return e, nil
}

// secretStep reads the Certificate's Secret and says what it holds.
func secretStep(ctx context.Context, c client.Client, cert *edgecertv1alpha1.Certificate, now time.Time) (string, string) {
	var s corev1.Secret
	err := c.Get(ctx, client.ObjectKey{Namespace: cert.Namespace, Name: cert.Spec.SecretName}, &s)
	switch {
	case apierrors.IsNotFound(err):
		return StateWaiting, fmt.Sprintf("Secret %q does not exist yet: no certificate issued", cert.Spec.SecretName)
	case err != nil:
		return StateSkipped, fmt.Sprintf("cannot read Secret %q: %v", cert.Spec.SecretName, err)
	}
	kp, err := pki.ParseKeyPair(s.Data[corev1.TLSCertKey], s.Data[corev1.TLSPrivateKeyKey])
	if err != nil {
		return StateFailed, fmt.Sprintf("Secret %q does not hold a usable key pair: %v", cert.Spec.SecretName, err)
	}
	detail := fmt.Sprintf("Secret %q: certificate for %s from %q, valid until %s", cert.Spec.SecretName, strings.Join(pki.Hosts(kp.Leaf), ", "), kp.Leaf.Issuer.CommonName, kp.Leaf.NotAfter.UTC().Format(time.RFC3339))
	if !now.Before(kp.Leaf.NotAfter) {
		return StateFailed, detail + ": expired"
	}
	if missing := pki.Uncovered(kp.Leaf, cert.Spec.DNSNames); len(missing) > 0 {
		return StateWaiting, detail + ": does not cover " + strings.Join(missing, ", ")
	}
	return StateOK, detail
}

// certificateEvents are the events recorded on cert, oldest first, the
// last ten.
func certificateEvents(ctx context.Context, c client.Client, cert *edgecertv1alpha1.Certificate) ([]Event, error) {
	var list eventsv1.EventList
	if err := c.List(ctx, &list, client.InNamespace(cert.Namespace)); err != nil {
		return nil, err
	}
	var out []Event
	for _, ev := range list.Items {
		if ev.Regarding.UID != cert.UID {
			continue
		}
		t := ev.EventTime.Time
		if ev.Series != nil {
			t = ev.Series.LastObservedTime.Time
		}
		if t.IsZero() {
			t = ev.CreationTimestamp.Time
		}
		out = append(out, Event{Time: t, Type: ev.Type, Reason: ev.Reason, Note: ev.Note})
	}
	slices.SortStableFunc(out, func(a, b Event) int { return a.Time.Compare(b.Time) })
	if len(out) > 10 {
		out = out[len(out)-10:]
	}
	return out, nil
}

// PrintExplanation prints the steps as a table under the summary, then
// the events; or the whole as JSON or YAML.
func (p *Printer) PrintExplanation(e *Explanation) error {
	if done, err := p.structured(e); done {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Certificate %s/%s: %s\n%s\n\n", e.Namespace, e.Name, p.paint(e.State), e.Summary)
	rows := make([][]string, 0, len(e.Steps))
	for _, s := range e.Steps {
		rows = append(rows, []string{s.Step, p.paint(s.State), or(s.Detail)})
	}
	table(&b, []string{"STEP", "STATE", "DETAIL"}, rows)
	if len(e.Events) > 0 {
		b.WriteString("\n")
		rows = rows[:0]
		for _, ev := range e.Events {
			rows = append(rows, []string{ev.Time.UTC().Format(time.RFC3339), ev.Type, ev.Reason, ev.Note})
		}
		table(&b, []string{"EVENT TIME", "TYPE", "REASON", "NOTE"}, rows)
	}
	return p.emit(&b)
}
