package keylock

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// TestOneHolderPerKeyAndForgotten: 50 goroutines on one key never overlap,
// two keys do not wait for each other, and an unused key is forgotten.
func TestOneHolderPerKeyAndForgotten(t *testing.T) {
	var k Locks
	var inside, most atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			unlock := k.Lock("a")
			n := inside.Add(1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			runtime.Gosched() // let another in, were the lock broken
			inside.Add(-1)
			unlock()
		}()
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Fatalf("%d holders of one key at once", most.Load())
	}
	unlockA := k.Lock("a")
	unlockB := k.Lock("b") // would deadlock if keys shared a mutex
	if k.Len() != 2 {
		t.Fatalf("Len %d, want 2", k.Len())
	}
	unlockB()
	unlockA()
	if k.Len() != 0 {
		t.Fatalf("%d keys remembered after every unlock", k.Len())
	}
}
