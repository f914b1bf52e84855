package bc

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// minShrinkPageSize is the smallest page a crawl shrinks to after BC's time limits (408,
// 504); below it the ordinary retry policy takes over.
const minShrinkPageSize = 200

// ListPage reads the first page of ref. Query.Top is allowed here, for small reads; it
// makes BC omit NextLink.
func (c *Client) ListPage(ctx context.Context, ref Ref, q *Query) (*Page, error) {
	u, err := c.refURL(ref, "", q)
	if err != nil {
		return nil, err
	}
	return c.fetchPage(ctx, u, q, pageSizeOf(q), false)
}

// NextPage follows a page's NextLink verbatim (bc-entra-facts §4.3). q contributes only
// PageSize and Primary; pass the Query of the first page. The link must point to the
// Client's own host: the bearer token is never sent elsewhere.
func (c *Client) NextPage(ctx context.Context, nextLink string, q *Query) (*Page, error) {
	u, err := c.checkLink(nextLink)
	if err != nil {
		return nil, err
	}
	if err := q.validate(); err != nil {
		return nil, err
	}
	return c.fetchPage(ctx, u, q, pageSizeOf(q), false)
}

// Pages iterates over the pages of ref, following @odata.nextLink verbatim until BC sends
// none. Pages are sized with Prefer: odata.maxpagesize (Query.PageSize), never with $top;
// a Query with Top is refused. When BC's time limits cut a page (408, 504), the page is
// asked for again at half the size. After an error the iteration stops.
func (c *Client) Pages(ctx context.Context, ref Ref, q *Query) iter.Seq2[*Page, error] {
	return func(yield func(*Page, error) bool) {
		if q != nil && q.Top > 0 {
			yield(nil, errTopOnCrawl)
			return
		}
		u, err := c.refURL(ref, "", q)
		if err != nil {
			yield(nil, err)
			return
		}
		c.crawl(ctx, u, q, yield)
	}
}

// PagesFrom resumes a crawl at a NextLink saved from an earlier page. q contributes only
// PageSize and Primary.
func (c *Client) PagesFrom(ctx context.Context, nextLink string, q *Query) iter.Seq2[*Page, error] {
	return func(yield func(*Page, error) bool) {
		u, err := c.checkLink(nextLink)
		if err == nil {
			err = q.validate()
		}
		if err != nil {
			yield(nil, err)
			return
		}
		c.crawl(ctx, u, q, yield)
	}
}

// List iterates over every entity of ref, page by page (see Pages). Each page is read
// completely, releasing its connection and limiter slot, before its records are yielded.
//
//	for rec, err := range c.List(ctx, bc.Set(companyID, "customers"), &bc.Query{PageSize: 1000}) {
//		if err != nil { return err }
//		…
//	}
func (c *Client) List(ctx context.Context, ref Ref, q *Query) iter.Seq2[Record, error] {
	return records(c.Pages(ctx, ref, q))
}

// As decodes each record of seq into T, e.g. bc.As[bc.Customer](c.List(ctx, ref, nil)).
// A decoding error ends the iteration.
func As[T any](seq iter.Seq2[Record, error]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for rec, err := range seq {
			var v T
			if err == nil {
				err = rec.Decode(&v)
			}
			if !yield(v, err) || err != nil {
				return
			}
		}
	}
}

func records(pages iter.Seq2[*Page, error]) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		for p, err := range pages {
			if err != nil {
				yield(Record{}, err)
				return
			}
			for _, rec := range p.Records {
				if !yield(rec, nil) {
					return
				}
			}
		}
	}
}

func (c *Client) crawl(ctx context.Context, u string, q *Query, yield func(*Page, error) bool) {
	size := pageSizeOf(q)
	seen := map[string]bool{}
	for {
		effective := size
		if effective == 0 {
			effective = MaxPageSize
		}
		p, err := c.fetchPage(ctx, u, q, size, effective > minShrinkPageSize)
		var e *Error
		if errors.As(err, &e) && (e.StatusCode == http.StatusRequestTimeout || e.StatusCode == http.StatusGatewayTimeout) && effective > minShrinkPageSize {
			size = max(effective/2, minShrinkPageSize)
			c.log.LogAttrs(ctx, slog.LevelWarn, "bc page hit the time limit; asking for smaller pages",
				slog.Int("status", e.StatusCode), slog.Int("pageSize", size), slog.String("clientRequestId", e.ClientRequestID))
			continue
		}
		if err != nil {
			yield(nil, err)
			return
		}
		if !yield(p, nil) || p.NextLink == "" {
			return
		}
		seen[u] = true
		next, err := c.checkLink(p.NextLink)
		if err == nil && seen[next] {
			err = fmt.Errorf("bc: BC sent an @odata.nextLink that was already followed; stopping to avoid an endless loop (link %s)", shorten(next))
		}
		if err != nil {
			yield(nil, err)
			return
		}
		u = next
	}
}

func pageSizeOf(q *Query) int {
	if q == nil {
		return 0
	}
	return q.PageSize
}

// fetchPage GETs one page. shrinkable hands 408 and 504 back to the caller at once.
func (c *Client) fetchPage(ctx context.Context, u string, q *Query, size int, shrinkable bool) (*Page, error) {
	cl := &call{op: "list", method: http.MethodGet, url: u, class: retryIdempotent, readOnly: q == nil || !q.Primary}
	if size > 0 {
		cl.header = http.Header{"Prefer": {"odata.maxpagesize=" + strconv.Itoa(size)}}
	}
	if shrinkable {
		cl.giveUp = func(status int) bool {
			return status == http.StatusRequestTimeout || status == http.StatusGatewayTimeout
		}
	}
	// The rows the page can hold, for the size hint: asked for with maxpagesize or $top.
	rows := size
	if q != nil && q.Top > 0 && (rows == 0 || q.Top < rows) {
		rows = q.Top
	}
	var p *Page
	err := c.do(ctx, cl, func(resp *http.Response) error {
		p = &Page{Count: -1, Records: make([]Record, 0, min(rows, MaxPageSize))} // a fresh page per try
		hint := int(min(resp.ContentLength, maxBodyHint))
		if bpr := int(c.bytesPerRow.Load()); hint <= 0 && rows > 0 && bpr > 0 {
			hint = rows*bpr + rows*bpr/8 + 4096
		}
		return decodePage(resp.Body, hint, p, func(rec Record) error {
			p.Records = append(p.Records, rec)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	if n := len(p.Records); n > 0 {
		// BC streams pages without Content-Length: the next page's buffer is sized from
		// this one's bytes per row.
		total := 0
		for _, r := range p.Records {
			total += len(r.Raw) + 1
		}
		c.bytesPerRow.Store(int64(total / n))
	}
	return p, nil
}

// checkLink resolves a nextLink and refuses one that leaves the Client's scheme and host.
// An absolute link is returned as is.
func (c *Client) checkLink(link string) (string, error) {
	if strings.TrimSpace(link) == "" {
		return "", errors.New("bc: the next link is empty: the previous page was the last")
	}
	u, err := url.Parse(link)
	if err != nil {
		return "", fmt.Errorf("bc: @odata.nextLink is not a URL: %w", err)
	}
	if !u.IsAbs() {
		return c.root.ResolveReference(u).String(), nil
	}
	if u.Scheme != c.root.Scheme || !strings.EqualFold(u.Host, c.root.Host) {
		return "", fmt.Errorf("bc: @odata.nextLink points to %s://%s, not to %s; refusing to send the token there", u.Scheme, u.Host, c.root.Host)
	}
	return link, nil
}
