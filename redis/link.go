package circuitredis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"time"

	"github.com/breakerlab/circuit"
	"github.com/redis/go-redis/v9"
)

// The subscriber goroutine owns the link: it subscribes to the channel,
// and only once the server has confirmed the subscription is the link up
// (so no announcement made after that can be missed), and every member's
// state is read again. It keeps the link checked with PINGs while the
// channel is quiet. Any failure, its own or a command's on another
// goroutine, ends the subscription; it then subscribes again after a
// backoff of 25ms doubling to 500ms, jittered.

// subscriber runs subscriptions until Close.
func (c *Coordinator) subscriber() {
	defer c.wg.Done()
	backoff := time.Duration(0)
	for {
		if backoff > 0 && !c.pause(backoff) {
			return
		}
		wasUp, err := c.session()
		if c.ctx.Err() != nil {
			return
		}
		if !c.kicked.Swap(false) {
			// A kick comes from a goroutine that has already recorded the
			// failure: the subscription's own error is only its echo.
			c.setDown(err)
		}
		switch {
		case wasUp:
			backoff = backoffMin
		default:
			backoff = min(max(2*backoff, backoffMin), backoffMax)
		}
	}
}

// pause waits d, jittered over its upper half, unless Close comes first.
func (c *Coordinator) pause(d time.Duration) bool {
	d = d/2 + rand.N(d/2+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// session subscribes and handles messages until the link fails, and says
// whether it was up.
func (c *Coordinator) session() (wasUp bool, err error) {
	ctx, cancel := c.op()
	ps := c.client.Subscribe(ctx, c.channel)
	cancel()
	if !c.setPubSub(ps) {
		return false, c.ctx.Err()
	}
	defer func() {
		c.setPubSub(nil)
		_ = ps.Close()
	}()
	// The confirmation, bounded by the op timeout: if Subscribe could
	// not connect, this connects again, and the deadline bounds that too.
	ctx, cancel = c.op()
	msg, err := ps.ReceiveTimeout(ctx, c.cfg.opTimeout)
	cancel()
	if err != nil {
		return false, err
	}
	if _, ok := msg.(*redis.Subscription); !ok {
		return false, fmt.Errorf("circuitredis: subscribing: got %T before the confirmation", msg)
	}
	c.setUp()
	c.requeueAll()
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(c.ctx, c.cfg.heartbeat)
		if err != nil {
			if pinged || !isTimeout(err) || c.ctx.Err() != nil {
				if pinged && isTimeout(err) {
					err = fmt.Errorf("circuitredis: no PONG within %v: %w", c.cfg.heartbeat, err)
				}
				return true, err
			}
			// Quiet for a heartbeat: check that the server is still there.
			ctx, cancel := c.op()
			err = ps.Ping(ctx)
			cancel()
			if err != nil {
				return true, err
			}
			pinged = true
			continue
		}
		pinged = false
		if m, ok := msg.(*redis.Message); ok {
			c.handle(m.Payload)
		}
	}
}

// setPubSub records the current subscription (nil for none), unless the
// coordinator is closing, which it reports with false.
func (c *Coordinator) setPubSub(ps *redis.PubSub) bool {
	c.psMu.Lock()
	defer c.psMu.Unlock()
	if ps != nil && c.ctx.Err() != nil {
		_ = ps.Close()
		return false
	}
	c.ps = ps
	return true
}

// kick ends the current subscription, so that the subscriber reconnects
// (or, at Close, exits).
func (c *Coordinator) kick() {
	c.psMu.Lock()
	defer c.psMu.Unlock()
	if c.ps != nil {
		c.kicked.Store(true)
		_ = c.ps.Close()
		c.ps = nil
	}
}

// handle applies an announcement from another replica.
func (c *Coordinator) handle(s string) {
	p, err := decodePayload(s)
	if err != nil {
		c.warnOnce("payload:"+err.Error(), "circuitredis: ignoring a message on the fleet channel",
			slog.String("channel", c.channel), slog.String("error", err.Error()))
		return
	}
	if p.Instance == c.instance {
		return
	}
	m := c.lookup(p.Name)
	if m == nil {
		return
	}
	// In this order: acquire reads heard after it sets leaseRetry.
	m.heard.Add(1)
	m.leaseRetry.Store(0)
	switch p.Kind {
	case kindOpen:
		if p.OpenMS > 0 {
			m.openFleet(time.Duration(p.OpenMS) * time.Millisecond)
		}
	case kindClose:
		if c.cfg.propagate || m.fleetOpen.Load() {
			m.b.Close(circuit.ReasonFleet)
		}
	}
}

// setUp records that the link is up.
func (c *Coordinator) setUp() {
	c.hmu.Lock()
	was := c.link.Swap(linkUp)
	now := time.Now()
	var down time.Duration
	if was != linkUp {
		down = now.Sub(c.health.Since)
		c.health.Up, c.health.Since = true, now.Round(0)
	}
	c.hmu.Unlock()
	if was == linkDown {
		c.cfg.logger.LogAttrs(context.Background(), slog.LevelInfo, "circuitredis: Redis reachable again; breakers act as a fleet",
			slog.String("replica", c.cfg.replicaID), slog.String("outage", down.Round(time.Millisecond).String()))
	}
}

// setDown records that the link failed with err, and logs the first
// failure of each outage.
func (c *Coordinator) setDown(err error) {
	if err == nil {
		err = errors.New("circuitredis: subscription ended")
	}
	c.hmu.Lock()
	was := c.link.Swap(linkDown)
	c.health.LastError = err.Error()
	if was != linkDown {
		c.health.Up, c.health.Since = false, time.Now().Round(0)
		c.health.Outages++
	}
	c.hmu.Unlock()
	if was != linkDown {
		c.cfg.logger.LogAttrs(context.Background(), slog.LevelWarn, "circuitredis: Redis unreachable; breakers work alone until it is back",
			slog.String("replica", c.cfg.replicaID), slog.String("error", err.Error()))
	}
}

// failed handles the error of a command sent outside the subscriber: an
// unreachable server takes the link down (and the subscriber reconnects);
// an error the server replied with is recorded and logged once.
func (c *Coordinator) failed(what string, err error) {
	if c.ctx.Err() != nil {
		return
	}
	if isLinkError(err) {
		c.setDown(fmt.Errorf("%s: %w", what, err))
		c.kick()
		return
	}
	c.hmu.Lock()
	c.health.LastError = err.Error()
	c.hmu.Unlock()
	c.warnOnce("reply:"+what+":"+err.Error(), "circuitredis: Redis refused a command",
		slog.String("replica", c.cfg.replicaID), slog.String("command", what), slog.String("error", err.Error()))
}

// isLinkError reports whether err means that Redis cannot be reached now,
// as opposed to a reply it gave (a script error, or an ACL refusal).
func isLinkError(err error) bool {
	var rerr redis.Error
	if errors.As(err, &rerr) {
		msg := rerr.Error()
		for _, transient := range []string{"LOADING", "BUSY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "READONLY"} {
			if strings.HasPrefix(msg, transient) {
				return true
			}
		}
		return false
	}
	return true
}

// isTimeout reports whether err is a read that timed out.
func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
