package route53test_test

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	r53 "github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/edgecert/edgecert/internal/dns/route53/route53test"
)

// client is the real AWS SDK client pointed at the double, so these tests
// check the double against the SDK's own serializers and deserializers.
func client(s *route53test.Server) *r53.Client {
	return r53.New(r53.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(s.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
		RetryMaxAttempts: 1,
	})
}

func txtSet(name string, ttl int64, values ...string) *types.ResourceRecordSet {
	set := &types.ResourceRecordSet{Name: aws.String(name), Type: types.RRTypeTxt, TTL: aws.Int64(ttl)}
	for _, v := range values {
		set.ResourceRecords = append(set.ResourceRecords, types.ResourceRecord{Value: aws.String(v)})
	}
	return set
}

func TestChangeSemantics(t *testing.T) {
	s := route53test.NewServer()
	defer s.Close()
	id := s.AddZone("example.test")
	c := client(s)
	change := func(action types.ChangeAction, set *types.ResourceRecordSet) error {
		_, err := c.ChangeResourceRecordSets(t.Context(), &r53.ChangeResourceRecordSetsInput{
			HostedZoneId: aws.String(id),
			ChangeBatch:  &types.ChangeBatch{Changes: []types.Change{{Action: action, ResourceRecordSet: set}}},
		})
		return err
	}
	invalid := func(step string, err error, want string) {
		t.Helper()
		var icb *types.InvalidChangeBatch
		if !errors.As(err, &icb) {
			t.Fatalf("%s: error = %v, want InvalidChangeBatch", step, err)
		}
		if diff := cmp.Diff([]string{want}, icb.Messages); diff != "" {
			t.Errorf("%s: messages (-want +got):\n%s", step, diff)
		}
	}
	name := "_acme-challenge.www.example.test."

	invalid("delete absent", change(types.ChangeActionDelete, txtSet(name, 60, `"a"`)),
		"Tried to delete resource record set [name='_acme-challenge.www.example.test.', type='TXT'] but it was not found")
	if err := change(types.ChangeActionCreate, txtSet(name, 60, `"a"`)); err != nil {
		t.Fatalf("create: %v", err)
	}
	invalid("create existing", change(types.ChangeActionCreate, txtSet(name, 60, `"b"`)),
		"Tried to create resource record set [name='_acme-challenge.www.example.test.', type='TXT'] but it already exists")
	if err := change(types.ChangeActionUpsert, txtSet(name, 60, `"a"`, `"b"`)); err != nil {
		t.Fatalf("upsert: %v", err)
	}
	invalid("delete with other values", change(types.ChangeActionDelete, txtSet(name, 60, `"a"`)),
		"Tried to delete resource record set [name='_acme-challenge.www.example.test.', type='TXT'] but the values provided do not match the current values")
	invalid("unquoted TXT", change(types.ChangeActionUpsert, txtSet(name, 60, "a")),
		"Invalid Resource Record: 'FATAL problem: InvalidCharacterString (Value should be enclosed in quotation marks) encountered with 'a''")
	invalid("duplicate value", change(types.ChangeActionUpsert, txtSet(name, 60, `"a"`, `"a"`)),
		`Duplicate Resource Record: '"a"'`)
	invalid("outside the zone", change(types.ChangeActionUpsert, txtSet("x.other.test.", 60, `"a"`)),
		"RRSet with DNS name x.other.test. is not permitted in zone example.test.")
	if diff := cmp.Diff([]string{"a", "b"}, s.TXT(name)); diff != "" {
		t.Errorf("TXT after the failed changes (-want +got):\n%s", diff)
	}
	if err := change(types.ChangeActionDelete, txtSet(name, 60, `"b"`, `"a"`)); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if got := s.TXT(name); got != nil {
		t.Errorf("TXT after delete = %q, want none", got)
	}
}

func TestListOrderAndErrors(t *testing.T) {
	s := route53test.NewServer()
	defer s.Close()
	id := s.AddZone("example.test")
	c := client(s)
	for _, name := range []string{"b.example.test.", "a.b.example.test.", "c.example.test."} {
		_, err := c.ChangeResourceRecordSets(t.Context(), &r53.ChangeResourceRecordSetsInput{
			HostedZoneId: aws.String("/hostedzone/" + id),
			ChangeBatch:  &types.ChangeBatch{Changes: []types.Change{{Action: types.ChangeActionCreate, ResourceRecordSet: txtSet(name, 60, `"v"`)}}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	out, err := c.ListResourceRecordSets(t.Context(), &r53.ListResourceRecordSetsInput{
		HostedZoneId: aws.String(id), StartRecordName: aws.String("b.example.test."), StartRecordType: types.RRTypeTxt, MaxItems: aws.Int32(2),
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, set := range out.ResourceRecordSets {
		got = append(got, aws.ToString(set.Name)+" "+string(set.Type))
	}
	if diff := cmp.Diff([]string{"b.example.test. TXT", "a.b.example.test. TXT"}, got); diff != "" {
		t.Errorf("listed RRsets (-want +got):\n%s", diff)
	}
	if !out.IsTruncated || aws.ToString(out.NextRecordName) != "c.example.test." {
		t.Errorf("IsTruncated = %v, NextRecordName = %q; want true, c.example.test.", out.IsTruncated, aws.ToString(out.NextRecordName))
	}

	s.FailNext("ListResourceRecordSets", "Throttling")
	_, err = c.ListResourceRecordSets(t.Context(), &r53.ListResourceRecordSetsInput{HostedZoneId: aws.String(id)})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "Throttling" || ae.ErrorMessage() != "Rate exceeded" {
		t.Errorf("injected failure: error = %v, want Throttling: Rate exceeded", err)
	}
	_, err = c.ListResourceRecordSets(t.Context(), &r53.ListResourceRecordSetsInput{HostedZoneId: aws.String("ZNOSUCH")})
	var nsz *types.NoSuchHostedZone
	if !errors.As(err, &nsz) {
		t.Errorf("unknown zone: error = %v, want NoSuchHostedZone", err)
	}
}
