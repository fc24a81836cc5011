// Package lowertest holds what the tests of every executor of lowered programs share: the
// models they lower, the TapeMachine's answers to compare with, and the checks of a buffer
// plan. Only tests import it.
package lowertest
