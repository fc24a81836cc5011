package model

// UniformParam is uniformParam, for the external tests.
var UniformParam = uniformParam
