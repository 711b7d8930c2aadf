package migrate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/edgecert/edgecert/internal/kube"
	"github.com/edgecert/edgecert/internal/scheme"
)

// Scheme is edgecert's scheme with cert-manager's kinds, for reading them.
func Scheme() *runtime.Scheme {
	s := scheme.New()
	if err := cmv1.AddToScheme(s); err != nil {
		panic(err) // static registration
	}
	return s
}

// Read lists cert-manager's ClusterIssuers, Issuers and Certificates in
// the cluster (c must use Scheme). A cluster without cert-manager's CRDs
// is an error that says so.
func Read(ctx context.Context, c client.Reader) (Input, error) {
	var in Input
	var cis cmv1.ClusterIssuerList
	if err := c.List(ctx, &cis); err != nil {
		if meta.IsNoMatchError(err) {
			return in, errors.New("the cluster serves no cert-manager.io/v1 kinds: nothing to migrate (or give the objects with -f)")
		}
		return in, fmt.Errorf("list cert-manager ClusterIssuers: %w", err)
	}
	var iss cmv1.IssuerList
	if err := c.List(ctx, &iss); err != nil {
		return in, fmt.Errorf("list cert-manager Issuers: %w", err)
	}
	var certs cmv1.CertificateList
	if err := c.List(ctx, &certs); err != nil {
		return in, fmt.Errorf("list cert-manager Certificates: %w", err)
	}
	in.ClusterIssuers, in.Issuers, in.Certificates = cis.Items, iss.Items, certs.Items
	return in, nil
}

// ReadFiles reads cert-manager's objects from YAML or JSON files (several
// documents each, "-" for standard input); other kinds are skipped.
func ReadFiles(paths []string, stdin io.Reader) (Input, error) {
	var in Input
	for _, p := range paths {
		var data []byte
		var err error
		if p == "-" {
			data, err = io.ReadAll(stdin)
		} else {
			data, err = os.ReadFile(p)
		}
		if err != nil {
			return in, err
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for i := 0; ; i++ {
			var raw map[string]any
			if err := dec.Decode(&raw); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return in, fmt.Errorf("%s: document %d: %w", p, i+1, err)
			}
			if raw == nil || raw["apiVersion"] != cmv1.SchemeGroupVersion.String() {
				continue
			}
			doc, err := yaml.Marshal(raw)
			if err != nil {
				return in, err
			}
			into := func(v any) error {
				if err := yaml.UnmarshalStrict(doc, v); err != nil {
					return fmt.Errorf("%s: document %d: %w", p, i+1, err)
				}
				return nil
			}
			switch raw["kind"] {
			case "ClusterIssuer":
				var o cmv1.ClusterIssuer
				err = into(&o)
				in.ClusterIssuers = append(in.ClusterIssuers, o)
			case "Issuer":
				var o cmv1.Issuer
				err = into(&o)
				in.Issuers = append(in.Issuers, o)
			case "Certificate":
				var o cmv1.Certificate
				err = into(&o)
				in.Certificates = append(in.Certificates, o)
			}
			if err != nil {
				return in, err
			}
		}
	}
	return in, nil
}

// Apply copies the Secrets and creates the objects of res, and says what
// it did, one line each. It changes nothing of cert-manager's and
// overwrites nothing: an object that exists is left as it is (and said),
// a Secret copy that exists with other data is an error.
func Apply(ctx context.Context, c client.Client, res Result) ([]string, error) {
	var done []string
	for _, cp := range res.SecretCopies {
		var src corev1.Secret
		if err := c.Get(ctx, client.ObjectKey{Namespace: cp.FromNamespace, Name: cp.Name}, &src); err != nil {
			return done, fmt.Errorf("read Secret %s/%s to copy: %w", cp.FromNamespace, cp.Name, err)
		}
		dst := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: cp.ToNamespace, Name: cp.Name, Labels: migratedLabels(),
				Annotations: map[string]string{"edgecert.dev/copied-from": cp.FromNamespace + "/" + cp.Name}},
			Type: src.Type,
			Data: src.Data,
		}
		err := c.Create(ctx, dst, client.FieldOwner(kube.FieldManager))
		switch {
		case err == nil:
			done = append(done, fmt.Sprintf("copied Secret %s/%s -> %s/%s", cp.FromNamespace, cp.Name, cp.ToNamespace, cp.Name))
		case apierrors.IsAlreadyExists(err):
			var have corev1.Secret
			if err := c.Get(ctx, client.ObjectKeyFromObject(dst), &have); err != nil {
				return done, err
			}
			if !maps.EqualFunc(have.Data, src.Data, bytes.Equal) {
				return done, fmt.Errorf("Secret %s/%s exists with other data than %s/%s: move it away or copy it by hand", cp.ToNamespace, cp.Name, cp.FromNamespace, cp.Name)
			}
			done = append(done, fmt.Sprintf("Secret %s/%s is already there", cp.ToNamespace, cp.Name))
		default:
			return done, fmt.Errorf("copy Secret %s/%s: %w", cp.FromNamespace, cp.Name, err)
		}
	}
	for _, o := range res.Objects {
		name := o.GetObjectKind().GroupVersionKind().Kind + " " + o.GetName()
		if o.GetNamespace() != "" {
			name = o.GetObjectKind().GroupVersionKind().Kind + " " + o.GetNamespace() + "/" + o.GetName()
		}
		err := c.Create(ctx, o, client.FieldOwner(kube.FieldManager))
		switch {
		case err == nil:
			done = append(done, "created "+name)
		case apierrors.IsAlreadyExists(err):
			done = append(done, name+" already exists: left as it is")
		default:
			return done, fmt.Errorf("create %s: %w", name, err)
		}
	}
	return done, nil
}
