// Package route53 publishes ACME DNS-01 TXT records in Amazon Route 53
// hosted zones through the AWS SDK for Go v2.
//
// Route 53 changes whole RRsets, not single records, so Present and CleanUp
// read the TXT RRset and write it back with one value more or less. Writes
// to one name are serialized inside the process, so the two values of
// example.com and *.example.com presented at once both survive; edgecert
// runs one active controller (leader election), so no other writer races it.
package route53

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	r53 "github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"

	edgedns "github.com/edgecert/edgecert/internal/dns"
)

// Defaults for the optional Config fields.
const (
	// DefaultRegion is where Route 53's global endpoint is signed for.
	DefaultRegion = "us-east-1"
	// DefaultTTL of the TXT records, in seconds.
	DefaultTTL = 60
)

// Config selects the hosted zone and the credentials.
type Config struct {
	// HostedZoneID pins the hosted zone (e.g. "Z0123456789ABC"). Empty: the
	// hosted zone whose name is the zone passed to Present, found with
	// ListHostedZonesByName. Pin it when a public and a private zone share
	// the name.
	HostedZoneID string
	// Region signs requests. Route 53 is global; default us-east-1.
	Region string
	// AccessKeyID and SecretAccessKey (and SessionToken for temporary
	// keys) are static credentials. Empty: the SDK's default chain
	// (environment, shared files, web identity such as EKS IRSA or pod
	// identity, instance role).
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// BaseEndpoint replaces the Route 53 endpoint, for private endpoints
	// and test doubles.
	BaseEndpoint string
	// TTL of the TXT records, in seconds. Default 60.
	TTL int64
	// MaxAttempts per API call, retries included. Default 1: the SDK does
	// not retry (and so never sleeps inside Present); throttling comes
	// back as ErrRetryable and the caller's work queue backs off.
	MaxAttempts int
}

// Provider changes TXT RRsets in Route 53. Create it once per Issuer
// solver and reuse it: it caches hosted zone IDs. Writes to one name are
// serialized across every Provider of the process (edgedns.LockRecord).
type Provider struct {
	client *r53.Client
	cfg    Config

	zoneIDs sync.Map // zone name -> hosted zone ID
}

var _ edgedns.Provider = (*Provider)(nil)

// New builds a Route 53 client from cfg. It sends nothing; the credentials
// are first used by Present.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 1
	}
	if (cfg.AccessKeyID == "") != (cfg.SecretAccessKey == "") {
		return nil, errors.New("route53: access key ID and secret access key go together")
	}
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRegion(cfg.Region),
		awsconfig.WithRetryMaxAttempts(cfg.MaxAttempts),
	}
	if cfg.AccessKeyID != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken)))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("route53: load AWS configuration: %w", err)
	}
	client := r53.NewFromConfig(awsCfg, func(o *r53.Options) {
		if cfg.BaseEndpoint != "" {
			o.BaseEndpoint = aws.String(cfg.BaseEndpoint)
		}
	})
	return &Provider{client: client, cfg: cfg}, nil
}

// Present adds value to the TXT RRset at fqdn with an UPSERT of the RRset
// read just before. When value is already there it writes nothing. It does
// not wait for the change to reach every Route 53 server: check
// propagation (Resolver.CheckPropagation, or ChangeInsync) on a later pass.
func (p *Provider) Present(ctx context.Context, zone, fqdn, value string) error {
	_, err := p.PresentChange(ctx, zone, fqdn, value)
	return err
}

// PresentChange is Present returning the ID of the Route 53 change, for
// ChangeInsync; the ID is empty when nothing had to change.
func (p *Provider) PresentChange(ctx context.Context, zone, fqdn, value string) (string, error) {
	fqdn = edgedns.Fqdn(fqdn)
	id, err := p.update(ctx, zone, fqdn, func(values []string) []string {
		if slices.Contains(values, value) {
			return values
		}
		return append(slices.Clone(values), value)
	})
	if err != nil {
		return "", fmt.Errorf("present TXT %s: %w", fqdn, err)
	}
	return id, nil
}

// CleanUp removes value from the TXT RRset at fqdn: an UPSERT of the other
// values, or a DELETE of the RRset when value was the last one. A value
// that is not there is success, and nothing is written.
func (p *Provider) CleanUp(ctx context.Context, zone, fqdn, value string) error {
	fqdn = edgedns.Fqdn(fqdn)
	_, err := p.update(ctx, zone, fqdn, func(values []string) []string {
		return slices.DeleteFunc(slices.Clone(values), func(v string) bool { return v == value })
	})
	if err != nil {
		return fmt.Errorf("clean up TXT %s: %w", fqdn, err)
	}
	return nil
}

// ChangeInsync tells whether a change returned by PresentChange has
// reached all Route 53 name servers. One GetChange call, no waiting.
func (p *Provider) ChangeInsync(ctx context.Context, changeID string) (bool, error) {
	out, err := p.client.GetChange(ctx, &r53.GetChangeInput{Id: aws.String(changeID)})
	if err != nil {
		return false, fmt.Errorf("get change %s: %w", changeID, apiError("GetChange", err))
	}
	return out.ChangeInfo != nil && out.ChangeInfo.Status == types.ChangeStatusInsync, nil
}

// update applies edit to the TXT values at fqdn and writes the result when
// it differs, holding the name's lock from the read to the write.
func (p *Provider) update(ctx context.Context, zone, fqdn string, edit func([]string) []string) (string, error) {
	zoneID, err := p.hostedZoneID(ctx, zone)
	if err != nil {
		return "", err
	}
	unlock, err := edgedns.LockRecord(ctx, zoneID, fqdn)
	if err != nil {
		return "", err
	}
	defer unlock()

	current, err := p.txtSet(ctx, zoneID, fqdn)
	if err != nil {
		return "", err
	}
	var values []string
	if current != nil {
		for _, rr := range current.ResourceRecords {
			v, err := UnquoteTXT(aws.ToString(rr.Value))
			if err != nil {
				return "", fmt.Errorf("TXT record at %s in hosted zone %s: %w", fqdn, zoneID, err)
			}
			values = append(values, v)
		}
	}
	want := edit(values)
	if slices.Equal(want, values) {
		return "", nil
	}
	var change types.Change
	if len(want) == 0 {
		// DELETE must repeat the RRset exactly as Route 53 holds it.
		change = types.Change{Action: types.ChangeActionDelete, ResourceRecordSet: current}
	} else {
		set := &types.ResourceRecordSet{Name: aws.String(fqdn), Type: types.RRTypeTxt, TTL: aws.Int64(p.cfg.TTL)}
		for _, v := range want {
			set.ResourceRecords = append(set.ResourceRecords, types.ResourceRecord{Value: aws.String(QuoteTXT(v))})
		}
		change = types.Change{Action: types.ChangeActionUpsert, ResourceRecordSet: set}
	}
	out, err := p.client.ChangeResourceRecordSets(ctx, &r53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(zoneID),
		ChangeBatch: &types.ChangeBatch{
			Comment: aws.String("edgecert ACME DNS-01 challenge"),
			Changes: []types.Change{change},
		},
	})
	if err != nil {
		return "", fmt.Errorf("%s in hosted zone %s: %w", change.Action, zoneID, apiError("ChangeResourceRecordSets", err))
	}
	if out.ChangeInfo == nil {
		return "", nil
	}
	return aws.ToString(out.ChangeInfo.Id), nil
}

// txtSet returns the TXT RRset at fqdn, or nil when there is none. Route 53
// lists RRsets in order from a start name and type, so the first one
// listed is the one asked for only when its name and type match.
func (p *Provider) txtSet(ctx context.Context, zoneID, fqdn string) (*types.ResourceRecordSet, error) {
	out, err := p.client.ListResourceRecordSets(ctx, &r53.ListResourceRecordSetsInput{
		HostedZoneId:    aws.String(zoneID),
		StartRecordName: aws.String(fqdn),
		StartRecordType: types.RRTypeTxt,
		MaxItems:        aws.Int32(1),
	})
	if err != nil {
		return nil, fmt.Errorf("list TXT %s in hosted zone %s: %w", fqdn, zoneID, apiError("ListResourceRecordSets", err))
	}
	for i := range out.ResourceRecordSets {
		set := &out.ResourceRecordSets[i]
		if set.Type == types.RRTypeTxt && set.SetIdentifier == nil && edgedns.Fqdn(unescapeName(aws.ToString(set.Name))) == fqdn {
			return set, nil
		}
	}
	return nil, nil
}

// hostedZoneID returns Config.HostedZoneID, or the ID of the hosted zone
// named zone, looked up once and cached.
func (p *Provider) hostedZoneID(ctx context.Context, zone string) (string, error) {
	if p.cfg.HostedZoneID != "" {
		return strings.TrimPrefix(p.cfg.HostedZoneID, "/hostedzone/"), nil
	}
	zone = edgedns.Fqdn(zone)
	if id, ok := p.zoneIDs.Load(zone); ok {
		return id.(string), nil
	}
	out, err := p.client.ListHostedZonesByName(ctx, &r53.ListHostedZonesByNameInput{
		DNSName:  aws.String(zone),
		MaxItems: aws.Int32(10),
	})
	if err != nil {
		return "", fmt.Errorf("find hosted zone %s: %w", zone, apiError("ListHostedZonesByName", err))
	}
	var ids []string
	for _, hz := range out.HostedZones {
		if edgedns.Fqdn(unescapeName(aws.ToString(hz.Name))) != zone {
			continue
		}
		if hz.Config != nil && hz.Config.PrivateZone {
			continue // the ACME CA resolves public DNS
		}
		ids = append(ids, strings.TrimPrefix(aws.ToString(hz.Id), "/hostedzone/"))
	}
	switch len(ids) {
	case 0:
		return "", fmt.Errorf("find hosted zone %s: no public hosted zone has this name", zone)
	case 1:
		p.zoneIDs.Store(zone, ids[0])
		return ids[0], nil
	default:
		return "", fmt.Errorf("find hosted zone %s: %d public hosted zones have this name; set the hosted zone ID", zone, len(ids))
	}
}

// retryableCodes are the Route 53 error codes that go away by waiting.
var retryableCodes = map[string]bool{
	"Throttling":              true,
	"ThrottlingException":     true,
	"PriorRequestNotComplete": true,
	"RequestLimitExceeded":    true,
	"ServiceUnavailable":      true,
	"InternalFailure":         true,
	"InternalError":           true,
}

// notAuthorizedCodes need someone to fix credentials or permissions.
var notAuthorizedCodes = map[string]bool{
	"AccessDenied":                true,
	"AccessDeniedException":       true,
	"InvalidClientTokenId":        true,
	"SignatureDoesNotMatch":       true,
	"UnrecognizedClientException": true,
	"ExpiredToken":                true,
}

// apiError rewrites an SDK error into a stable message, without the
// request ID and HTTP details the SDK puts in its text, and marks it
// ErrRetryable or ErrNotAuthorized by its code. The SDK error stays
// reachable with errors.As.
func apiError(op string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		msg := fmt.Sprintf("%s: %s: %s", op, ae.ErrorCode(), ae.ErrorMessage())
		var icb *types.InvalidChangeBatch
		if errors.As(err, &icb) && len(icb.Messages) > 0 {
			msg = fmt.Sprintf("%s: %s: %s", op, ae.ErrorCode(), strings.Join(icb.Messages, "; "))
		}
		switch {
		case retryableCodes[ae.ErrorCode()]:
			return edgedns.Wrap(msg, edgedns.ErrRetryable, err)
		case notAuthorizedCodes[ae.ErrorCode()]:
			return edgedns.Wrap(msg, edgedns.ErrNotAuthorized, err)
		}
		return edgedns.Wrap(msg, nil, err)
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	// Network failures, 5xx without a body: transient.
	return edgedns.Wrap(op+": "+transportText(err), edgedns.ErrRetryable, err)
}

// transportText describes a failure that carries no Route 53 error code
// (a refused connection, a timeout) without the SDK's outer layers, whose
// text includes request IDs.
func transportText(err error) string {
	var oe *net.OpError
	var ne net.Error
	if errors.As(err, &oe) || (errors.As(err, &ne) && ne.Timeout()) || errors.Is(err, context.DeadlineExceeded) {
		return edgedns.NetErrorText(err)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return "request failed"
}

// QuoteTXT turns a TXT value into Route 53's presentation form: in double
// quotes, with quotes and backslashes escaped, and cut into 255-byte
// strings when longer.
func QuoteTXT(v string) string {
	var b strings.Builder
	for first := true; first || v != ""; first = false {
		part := v
		if len(part) > 255 {
			part = part[:255]
		}
		v = v[len(part):]
		if !first {
			b.WriteByte(' ')
		}
		b.WriteByte('"')
		for i := 0; i < len(part); i++ {
			c := part[i]
			switch {
			case c == '"' || c == '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case c < 0x20 || c > 0x7e:
				fmt.Fprintf(&b, "\\%03d", c)
			default:
				b.WriteByte(c)
			}
		}
		b.WriteByte('"')
	}
	return b.String()
}

// UnquoteTXT reverses QuoteTXT: it joins the quoted strings of one Route 53
// TXT value and resolves \" \\ and \DDD escapes. An unquoted value (which
// Route 53 accepts for simple strings) is returned as it is.
func UnquoteTXT(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, `"`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		switch {
		case s[i] == ' ' || s[i] == '\t':
			i++
			continue
		case s[i] != '"':
			return "", fmt.Errorf("malformed TXT value %q", s)
		}
		i++ // opening quote
		closed := false
		for i < len(s) && !closed {
			c := s[i]
			switch {
			case c == '"':
				closed = true
				i++
			case c == '\\' && i+3 < len(s) && isDigits(s[i+1:i+4]):
				n, _ := strconv.Atoi(s[i+1 : i+4])
				if n > 255 {
					return "", fmt.Errorf("malformed TXT value %q", s)
				}
				b.WriteByte(byte(n))
				i += 4
			case c == '\\' && i+1 < len(s):
				b.WriteByte(s[i+1])
				i += 2
			default:
				b.WriteByte(c)
				i++
			}
		}
		if !closed {
			return "", fmt.Errorf("malformed TXT value %q", s)
		}
	}
	return b.String(), nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// unescapeName turns Route 53's octal escapes in names (\052 for "*")
// back into characters.
func unescapeName(name string) string {
	if !strings.Contains(name, `\`) {
		return name
	}
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		if name[i] == '\\' && i+3 < len(name) && isDigits(name[i+1:i+4]) {
			n, err := strconv.ParseUint(name[i+1:i+4], 8, 8)
			if err != nil {
				b.WriteByte(name[i])
				continue
			}
			b.WriteByte(byte(n))
			i += 3
			continue
		}
		b.WriteByte(name[i])
	}
	return b.String()
}
