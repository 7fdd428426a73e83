package payoutjob

import (
	"testing"

	"github.com/paysdk/payments/ledger/sqlitestore"
)

// The package names the in-memory store without importing the store.
func TestMemoryStoreIsSQLiteMemory(t *testing.T) {
	if memoryStore != sqlitestore.Memory {
		t.Fatalf("memoryStore %q, sqlitestore.Memory %q", memoryStore, sqlitestore.Memory)
	}
}
