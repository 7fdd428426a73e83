package fakeserver

import "testing"

func TestOpCounts(t *testing.T) {
	var c OpCounts
	if c.Take("pay") {
		t.Fatal("empty counts gave a take")
	}
	c.Add("pay", 2)
	c.Add("status", 1)
	takes := 0
	for c.Take("pay") {
		takes++
	}
	if takes != 2 {
		t.Fatalf("pay: %d takes, want exactly two", takes)
	}
	if c.Len() != 1 {
		t.Fatalf("Len = %d, want 1", c.Len())
	}
	c.Add("status", 0)
	if c.Take("status") || c.Len() != 0 {
		t.Fatal("Add(op, 0) must clear op")
	}
}
