package bus

import (
	"context"
	"log/slog"
	"time"
)

// Lease takes key in BucketLeases for holder, so that one replica at a time
// does the work the key names (a replay, a destination's deliveries, the
// analytics writer's usage rollup); it fails with an error satisfying
// errors.Is(err, ErrExists) when another holder has the key.
//
// The lease is an entry of the bucket, created only if the key holds
// nothing, then refreshed every LeaseTTL/3 by an update at the revision the
// holder wrote last: a holder whose entry was changed or removed meanwhile
// (it expired, LeaseTTL after its last refresh, and another took it) cannot
// refresh it and knows it lost it. The returned context ends when the
// lease is lost, when a refresh comes later than LeaseTTL/2 after the last
// one (a paused process: the entry may be about to expire) or takes more
// than LeaseTTL/3 (a stalled server), or when ctx
// ends; work done under the lease must stop with it. release stops the
// refreshing and deletes the entry if it is still this holder's, so that
// another replica may take the key at once; it must be called once, and
// waits for the refreshing to stop. A nil log logs with the bus's logger.
func (b *Bus) Lease(ctx context.Context, key, holder string, log *slog.Logger) (context.Context, func(), error) {
	if log == nil {
		log = b.log
	}
	kv := b.State(BucketLeases)
	rev, err := kv.Create(ctx, key, []byte(holder))
	if err != nil {
		return nil, nil, err
	}
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(LeaseTTL / 3)
		defer t.Stop()
		refreshed := time.Now()
		for {
			select {
			case <-lctx.Done():
				return
			case <-t.C:
				if late := time.Since(refreshed); late > LeaseTTL/2 {
					log.Warn("lease not refreshed in time; the work stops", "lease", key, "since", late)
					cancel()
					return
				}
				// Bounded, so that a stalled server cannot keep the
				// holder working past the entry's expiry.
				uctx, ucancel := context.WithTimeout(lctx, LeaseTTL/3)
				next, err := kv.Update(uctx, key, []byte(holder), rev)
				ucancel()
				if err != nil {
					if lctx.Err() == nil {
						log.Warn("lease lost; the work stops", "lease", key, "err", err)
						cancel()
					}
					return
				}
				rev, refreshed = next, time.Now()
			}
		}
	}()
	release := func() {
		cancel()
		<-done
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer rcancel()
		_ = kv.DeleteAt(rctx, key, rev)
	}
	return lctx, release, nil
}
