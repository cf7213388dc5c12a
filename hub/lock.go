package hub

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// lockPoll is how often a waiting lockModel tries again.
const lockPoll = 50 * time.Millisecond

// lockModel takes the lock file at path, waiting (and saying so once)
// while another Get or Remove of the same model holds it, until ctx ends.
// A nil ctx waits without end.
func lockModel(ctx context.Context, path string, o *options) (unlock func(), err error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("hub: create the cache directory: %w", diskFull(err))
	}
	said := false
	for {
		unlock, busy, err := tryLock(path)
		if err != nil {
			return nil, fmt.Errorf("hub: lock %s: %w", path, diskFull(err))
		}
		if !busy {
			return unlock, nil
		}
		if !said {
			o.logf("waiting for another download of the same model to finish (lock %s)", path)
			said = true
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(lockPoll):
		}
	}
}
