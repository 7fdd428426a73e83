package redislimit

import (
	"context"
	"time"
)

// StateKey is stateKey, for the tests.
var StateKey = stateKey

// WaitRefusals waits until the cut exchanges Refused started have ended.
func (l *Limiter) WaitRefusals() { l.bg.Wait() }

// Exchanges is the number of cut exchanges Refused started.
func (l *Limiter) Exchanges() int64 { return l.exchanges.Load() }

// Ask runs the grant script once: 0 for a grant, else the wait.
func (l *Limiter) Ask(ctx context.Context) (time.Duration, error) { return l.ask(ctx) }

// Cut runs the cut script once, synchronously: whether it cut.
func (l *Limiter) Cut(ctx context.Context) (bool, error) {
	cut, _, err := l.cut(ctx)
	return cut, err
}

// Ceiling is the rate without a cut, grants a second.
func (l *Limiter) Ceiling() float64 { return l.ceiling }

// The slow-down's constants, for the tests.
const (
	CutFactor      = cutFactor
	CutCooldown    = cutCooldown
	CreepPerSecond = creepPerSecond
	FloorDivisor   = floorDivisor
)

// SetCreep changes the creep of l's scripts (a fraction of the ceiling a
// second), for the long run's comparison of creeps only.
func (l *Limiter) SetCreep(perSecond float64) { l.args[7] = perSecond }
