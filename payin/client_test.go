package payin_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payin"
)

// nilDriver is a driver type whose nil pointer must be refused.
type nilDriver struct{ payin.Driver }

func TestNewRefusesANilDriver(t *testing.T) {
	var typed *nilDriver
	for name, d := range map[string]payin.Driver{"nil": nil, "typed nil": typed} {
		_, err := payin.New(d)
		assert.ErrorIs(t, err, payments.ErrInvalidRequest, name)
		assert.Panics(t, func() { payin.NewClient(d) }, name)
	}
}
