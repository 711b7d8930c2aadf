package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// auditPolicy logs writes at Metadata level (who, what, result; no bodies)
// once each, when the response is complete, and drops every other request.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
  verbs: ["create", "update", "patch", "delete", "deletecollection"]
- level: None
`

// configureAudit writes the audit policy into the control plane's directory
// and points kube-apiserver at it and at a JSON log next to it. Blocking
// mode writes each event before the request handler returns, so a write is
// in the log (a moment after its response reached the client) with no batch
// delay and none dropped.
func (cp *ControlPlane) configureAudit() error {
	policy := filepath.Join(cp.dir, "audit-policy.yaml")
	if err := os.WriteFile(policy, []byte(auditPolicy), 0o600); err != nil {
		return err
	}
	cp.auditLog = filepath.Join(cp.dir, "audit.log")
	cp.env.ControlPlane.APIServer.Configure().
		Set("audit-policy-file", policy).
		Set("audit-log-path", cp.auditLog).
		Set("audit-log-format", "json").
		Set("audit-log-mode", "blocking")
	return nil
}

// AuditWrite is one write the API server audited (ControlPlaneOptions.Audit).
type AuditWrite struct {
	// Verb is the audit verb: create, update, patch, delete or
	// deletecollection. Server-side apply is a patch.
	Verb string
	// Resource is the plural resource, e.g. "configmaps", "certificates";
	// Subresource e.g. "status", empty for the object itself.
	Resource, Subresource string
	// Namespace and Name of the object. For a create, the API server takes
	// them from the request body: the name is set when the body names the
	// object and empty when it only has metadata.generateName (seen on
	// kube-apiserver v1.37: the generated name is not audited at Metadata
	// level). For deletecollection the name is empty.
	Namespace, Name string
	// User is the authenticated user name, e.g. "admin" for the test bed's
	// client.
	User string
	// Code is the HTTP status of the response, e.g. 201, 200, 409.
	Code int
	// Time is when the API server received the request.
	Time time.Time
}

// auditEvent is the part of an audit.k8s.io/v1 Event that AuditWrite keeps.
type auditEvent struct {
	Verb string `json:"verb"`
	User struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
	RequestReceivedTimestamp time.Time `json:"requestReceivedTimestamp"`
}

// AuditWrites returns every write audited since the control plane started,
// in the order their responses completed. It fails when the control plane was started without
// ControlPlaneOptions.Audit. A write's record lands a moment after its
// response: poll (Eventually) rather than read once right after a call.
func (cp *ControlPlane) AuditWrites() ([]AuditWrite, error) {
	if cp.auditLog == "" {
		return nil, errors.New("audit is off: start the control plane with ControlPlaneOptions{Audit: true}")
	}
	data, err := os.ReadFile(cp.auditLog)
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	// A line still being written has no newline yet: leave it for next time.
	data = data[:bytes.LastIndexByte(data, '\n')+1]
	var out []AuditWrite
	for line := range bytes.Lines(data) {
		var e auditEvent
		if err := json.Unmarshal(line, &e); err != nil {
			return nil, fmt.Errorf("audit log %s: %w", cp.auditLog, err)
		}
		w := AuditWrite{Verb: e.Verb, User: e.User.Username, Time: e.RequestReceivedTimestamp}
		if r := e.ObjectRef; r != nil {
			w.Resource, w.Subresource, w.Namespace, w.Name = r.Resource, r.Subresource, r.Namespace, r.Name
		}
		if e.ResponseStatus != nil {
			w.Code = e.ResponseStatus.Code
		}
		out = append(out, w)
	}
	return out, nil
}

// CountWrites counts the writes match accepts, e.g. a controller's writes
// to Certificates' status.
func CountWrites(ws []AuditWrite, match func(AuditWrite) bool) int {
	n := 0
	for _, w := range ws {
		if match(w) {
			n++
		}
	}
	return n
}

// AuditWritesIn returns the writes audited in namespace ns up to now: it
// creates a ConfigMap named marker there and waits for that write's
// record, so every write that completed before the call is in the log.
func (cp *ControlPlane) AuditWritesIn(t testing.TB, ns, marker string) []AuditWrite {
	t.Helper()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: marker}}
	if err := cp.Client.Create(context.Background(), cm); err != nil {
		t.Fatal(err)
	}
	var writes []AuditWrite
	Eventually(t, "the marker's record in the audit log", func() (bool, string) {
		all, err := cp.AuditWrites()
		if err != nil {
			return false, err.Error()
		}
		writes = writes[:0]
		seen := false
		for _, w := range all {
			if w.Namespace == ns {
				writes = append(writes, w)
				seen = seen || w.Resource == "configmaps" && w.Name == marker
			}
		}
		return seen, fmt.Sprintf("%d writes in %s, no marker", len(writes), ns)
	})
	return writes
}
