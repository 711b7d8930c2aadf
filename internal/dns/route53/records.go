package route53

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	r53 "github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"

	edgedns "github.com/edgecert/edgecert/internal/dns"
	"github.com/edgecert/edgecert/internal/dns/registry"
)

var _ edgedns.Zone = (*Provider)(nil)

// Route 53's limits on one ChangeResourceRecordSets call: 1,000 records
// (an UPSERT counts twice) and 32,000 characters of values. Batches stay
// under both with room to spare.
const (
	maxBatchRecords = 500
	maxBatchChars   = 30000
)

// Records lists every RRset of the hosted zone, page by page. Sets with a
// routing policy (a set identifier) or an alias target are left out: they
// are not edgecert's to plan.
func (p *Provider) Records(ctx context.Context, zone string) ([]registry.Record, error) {
	zoneID, err := p.hostedZoneID(ctx, zone)
	if err != nil {
		return nil, err
	}
	in := &r53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zoneID)}
	var out []registry.Record
	for {
		page, err := p.client.ListResourceRecordSets(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list records in hosted zone %s: %w", zoneID, apiError("ListResourceRecordSets", err))
		}
		for _, set := range page.ResourceRecordSets {
			if set.SetIdentifier != nil || set.AliasTarget != nil {
				continue
			}
			rec := registry.Record{Name: edgedns.Fqdn(unescapeName(aws.ToString(set.Name))), Type: string(set.Type), TTL: uint32(aws.ToInt64(set.TTL))}
			for _, rr := range set.ResourceRecords {
				v := aws.ToString(rr.Value)
				if set.Type == types.RRTypeTxt {
					if u, err := UnquoteTXT(v); err == nil {
						v = u
					}
				}
				rec.Values = append(rec.Values, v)
			}
			out = append(out, registry.Normalize(rec))
		}
		if !page.IsTruncated {
			return out, nil
		}
		in.StartRecordName, in.StartRecordType, in.StartRecordIdentifier = page.NextRecordName, page.NextRecordType, page.NextRecordIdentifier
	}
}

// ApplyChanges sends changes in as few ChangeResourceRecordSets calls as
// Route 53's limits allow, each applied whole or not at all: Create is a
// CREATE (it fails if the RRset appeared since the list), Update an UPSERT,
// Delete a DELETE of the RRset as listed (it fails if it changed since).
func (p *Provider) ApplyChanges(ctx context.Context, zone string, changes []registry.Change) error {
	if len(changes) == 0 {
		return nil
	}
	zoneID, err := p.hostedZoneID(ctx, zone)
	if err != nil {
		return err
	}
	var batch []types.Change
	records, chars := 0, 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := p.client.ChangeResourceRecordSets(ctx, &r53.ChangeResourceRecordSetsInput{
			HostedZoneId: aws.String(zoneID),
			ChangeBatch:  &types.ChangeBatch{Comment: aws.String("edgecert DNSZone"), Changes: batch},
		})
		if err != nil {
			return fmt.Errorf("apply %d record changes in hosted zone %s: %w", len(batch), zoneID, apiError("ChangeResourceRecordSets", err))
		}
		batch, records, chars = nil, 0, 0
		return nil
	}
	for _, c := range changes {
		var ch types.Change
		switch c.Action {
		case registry.Create:
			ch = types.Change{Action: types.ChangeActionCreate, ResourceRecordSet: recordSet(*c.New)}
		case registry.Update:
			ch = types.Change{Action: types.ChangeActionUpsert, ResourceRecordSet: recordSet(*c.New)}
		case registry.Delete:
			ch = types.Change{Action: types.ChangeActionDelete, ResourceRecordSet: recordSet(*c.Old)}
		default:
			return fmt.Errorf("unknown record change %q", c.Action)
		}
		n, size := len(ch.ResourceRecordSet.ResourceRecords), 0
		if ch.Action == types.ChangeActionUpsert {
			n *= 2
		}
		for _, rr := range ch.ResourceRecordSet.ResourceRecords {
			size += len(aws.ToString(rr.Value))
		}
		if len(batch) > 0 && (records+n > maxBatchRecords || chars+size > maxBatchChars) {
			if err := flush(); err != nil {
				return err
			}
		}
		batch = append(batch, ch)
		records += n
		chars += size
	}
	return flush()
}

// recordSet is a record in Route 53's form: TXT values quoted.
func recordSet(r registry.Record) *types.ResourceRecordSet {
	set := &types.ResourceRecordSet{Name: aws.String(r.Name), Type: types.RRType(r.Type), TTL: aws.Int64(int64(r.TTL))}
	for _, v := range r.Values {
		if r.Type == registry.TypeTXT {
			v = QuoteTXT(v)
		}
		set.ResourceRecords = append(set.ResourceRecords, types.ResourceRecord{Value: aws.String(v)})
	}
	return set
}
