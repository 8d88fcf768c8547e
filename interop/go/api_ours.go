//go:build !generated

package main

// The client built on the gowsdl-generated package the project ships (wsdl/partnerapi).
import pa "github.com/partnerd/partnerd/wsdl/partnerapi"

const wsdlName = "partnerapi"

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
