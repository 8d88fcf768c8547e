//go:build generated

package main

// The client built from a gowsdl output generated at run time (see generated/doc.go).
import pa "github.com/partnerd/partnerd/interop/go/generated"

const wsdlName = "generated"

type (
	Send               = pa.Send
	Email              = pa.Email
	List               = pa.List
	APIObject          = pa.APIObject
	CreateOptions      = pa.CreateOptions
	PerformOptions     = pa.PerformOptions
	SimpleFilterPart   = pa.SimpleFilterPart
	ComplexFilterPart  = pa.ComplexFilterPart
	SimpleOperators    = pa.SimpleOperators
	LogicalOperators   = pa.LogicalOperators
	CreateResponse     = pa.CreateResponse
	PerformResponseMsg = pa.PerformResponseMsg
)

const (
	opIN     = pa.SimpleOperatorsIN
	opEquals = pa.SimpleOperatorsEquals
	logicOR  = pa.LogicalOperatorsOR
)
