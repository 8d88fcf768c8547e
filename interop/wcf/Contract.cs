// The WCF service contract in the shape svcutil / Visual Studio "Add Service Reference" generate
// from etframework.wsdl with the XmlSerializer (the shape FuelSDK-CSharp ships in
// ExactTargetSOAP.cs): Action = the bare operation name, ReplyAction = "*", message contracts
// wrapping the Partner API's request/response elements. Only the three operations the scenario
// uses are kept. The data types (Send, PerformResult, …) are the XmlSerializer classes generated
// from the same WSDL (namespace PartnerApi; see interop/run.sh).
//
// Mono's own svcutil cannot produce this: given the WSDL it emits Action="*" with the action as
// ReplyAction and no message contracts, which is not what .NET users have, so it is written here.
using System.ServiceModel;
using System.Xml.Serialization;
using PartnerApi;

namespace Interop.Wcf
{
    [ServiceContract(Namespace = "http://exacttarget.com/wsdl/partnerAPI", ConfigurationName = "PartnerApi.Soap")]
    public interface Soap
    {
        // CODEGEN: Generating message contract since the wrapper name (CreateRequest) of message CreateRequest does not match the default value (Create)
        [OperationContract(Action = "Create", ReplyAction = "*")]
        [XmlSerializerFormat()]
        [ServiceKnownType(typeof(Result))]
        CreateResponse Create(CreateRequest request);

        // CODEGEN: Generating message contract since the wrapper name (RetrieveRequestMsg) of message RetrieveRequest does not match the default value (Retrieve)
        [OperationContract(Action = "Retrieve", ReplyAction = "*")]
        [XmlSerializerFormat()]
        [ServiceKnownType(typeof(Result))]
        RetrieveResponse Retrieve(RetrieveRequest1 request);

        // CODEGEN: Generating message contract since the wrapper name (PerformRequestMsg) of message PerformRequest does not match the default value (Perform)
        [OperationContract(Action = "Perform", ReplyAction = "*")]
        [XmlSerializerFormat()]
        [ServiceKnownType(typeof(Result))]
        PerformResponse Perform(PerformRequest request);
    }

    public interface SoapChannel : Soap, IClientChannel
    {
    }

    [MessageContract(WrapperName = "CreateRequest", WrapperNamespace = "http://exacttarget.com/wsdl/partnerAPI", IsWrapped = true)]
    public partial class CreateRequest
    {
        [MessageBodyMember(Namespace = "http://exacttarget.com/wsdl/partnerAPI", Order = 0)]
        public CreateOptions Options;

        [MessageBodyMember(Namespace = "http://exacttarget.com/wsdl/partnerAPI", Order = 1)]
        [XmlElement("Objects")]
        public APIObject[] Objects;

        public CreateRequest() { }
        public CreateRequest(CreateOptions Options, APIObject[] Objects) { this.Options = Options; this.Objects = Objects; }
    }

    [MessageContract(WrapperName = "CreateResponse", WrapperNamespace = "http://exacttarget.com/wsdl/partnerAPI", IsWrapped = true)]
    public partial class CreateResponse
    {
        [MessageBodyMember(Namespace = "http://exacttarget.com/wsdl/partnerAPI", Order = 0)]
        [XmlElement("Results")]
        public CreateResult[] Results;

        [MessageBodyMember(Namespace = "http://exacttarget.com/wsdl/partnerAPI", Order = 1)]
        public string RequestID;

        [MessageBodyMember(Namespace = "http://exacttarget.com/wsdl/partnerAPI", Order = 2)]
        public string OverallStatus;
    }

    [MessageContract(WrapperName = "RetrieveRequestMsg", WrapperNamespace = "http://exacttarget.com/wsdl/partnerAPI", IsWrapped = true)]
    public partial class RetrieveRequest1
    {
        [MessageBodyMember(Namespace = "http://exacttarget.com/wsdl/partnerAPI", Order = 0)]
        public RetrieveRequest RetrieveRequest;

        public RetrieveRequest1() { }
        public RetrieveRequest1(RetrieveRequest RetrieveRequest) { this.RetrieveRequest = RetrieveRequest; }
    }

    [MessageContract(WrapperName = "RetrieveResponseMsg", WrapperNamespace = "http://exacttarget.com/wsdl/partnerAPI", IsWrapped = true)]
    public partial class RetrieveResponse
    {
        [MessageBodyMember(Namespace = "http://exacttarget.com/wsdl/partnerAPI", Order = 0)]
        public string OverallStatus;

        [MessageBodyMember(Namespace = "http://exacttarget.com/wsdl/partnerAPI", Order = 1)]
        public string RequestID;

        [MessageBodyMember(Namespace = "http://exacttarget.com/wsdl/partnerAPI", Order = 2)]
        [XmlElement("Results")]
        public APIObject[] Results;
    }

    [MessageContract(WrapperName = "PerformRequestMsg", WrapperNamespace = "http://exacttarget.com/wsdl/partnerAPI", IsWrapped = true)]
    public partial class PerformRequest
    {
        [MessageBodyMember(Namespace = "http://exacttarget.com/wsdl/partnerAPI", Order = 0)]
        public PerformOptions Options;

        [MessageBodyMember(Namespace = "http://exacttarget.com/wsdl/partnerAPI", Order = 1)]
        public string Action;

        [MessageBodyMember(Namespace = "http://exacttarget.com/wsdl/partnerAPI", Order = 2)]
        [XmlArrayItem("Definition", IsNullable = false)]
        public APIObject[] Definitions;

        public PerformRequest() { }
        public PerformRequest(PerformOptions Options, string Action, APIObject[] Definitions)
        {
            this.Options = Options; this.Action = Action; this.Definitions = Definitions;
        }
    }

    [MessageContract(WrapperName = "PerformResponseMsg", WrapperNamespace = "http://exacttarget.com/wsdl/partnerAPI", IsWrapped = true)]
    public partial class PerformResponse
    {
        [MessageBodyMember(Namespace = "http://exacttarget.com/wsdl/partnerAPI", Order = 0)]
        [XmlArrayItem("Result", IsNullable = false)]
        public PerformResult[] Results;

        [MessageBodyMember(Namespace = "http://exacttarget.com/wsdl/partnerAPI", Order = 1)]
        public string OverallStatus;

        [MessageBodyMember(Namespace = "http://exacttarget.com/wsdl/partnerAPI", Order = 2)]
        public string OverallStatusMessage;

        [MessageBodyMember(Namespace = "http://exacttarget.com/wsdl/partnerAPI", Order = 3)]
        public string RequestID;
    }
}
