// .NET WCF client: a ChannelFactory over the svcutil-shaped contract (Contract.cs), as .NET
// Framework code calls the Partner API.
//   default:   BasicHttpBinding (SOAP 1.1, SOAPAction header from Action="Perform").
//   --soap12:  CustomBinding(TextMessageEncodingBindingElement(Soap12WSAddressingAugust2004) +
//              HttpTransportBindingElement), the message version FuelSDK-CSharp sends.
// The UsernameToken is added through OperationContextScope as an outgoing message header: Mono
// cannot build TransportWithMessageCredential (and this endpoint is plain http), so the header is
// what such a binding would write.
using System;
using System.Linq;
using System.ServiceModel;
using System.ServiceModel.Channels;
using System.ServiceModel.Description;
using System.ServiceModel.Dispatcher;
using System.Text;
using System.Xml;
using Interop;
using PartnerApi;

namespace Interop.Wcf
{
    public class SecurityMessageHeader : MessageHeader
    {
        readonly UsernameTokenValues v;
        readonly bool digest;

        public SecurityMessageHeader(string user, string password, bool digest)
        {
            v = UsernameTokenValues.Make(user, password, digest);
            this.digest = digest;
        }

        public override string Name { get { return "Security"; } }
        public override string Namespace { get { return UsernameTokenValues.Wsse; } }
        public override bool MustUnderstand { get { return true; } }

        protected override void OnWriteHeaderContents(XmlDictionaryWriter w, MessageVersion version)
        {
            const string wsse = UsernameTokenValues.Wsse;
            w.WriteStartElement("wsse", "UsernameToken", wsse);
            w.WriteElementString("wsse", "Username", wsse, v.Username);
            w.WriteStartElement("wsse", "Password", wsse);
            w.WriteAttributeString("Type", v.PasswordType);
            w.WriteString(v.Password);
            w.WriteEndElement();
            if (digest)
            {
                w.WriteStartElement("wsse", "Nonce", wsse);
                w.WriteAttributeString("EncodingType", UsernameTokenValues.Base64Binary);
                w.WriteString(v.Nonce);
                w.WriteEndElement();
                w.WriteElementString("wsu", "Created", UsernameTokenValues.Wsu, v.Created);
            }
            w.WriteEndElement();
        }
    }

    // SecurityTimestampCheck runs Adapter.RequireSecurityTimestamp on every reply, where a WCF
    // security binding would run its own check.
    public class SecurityTimestampCheck : IClientMessageInspector, IEndpointBehavior
    {
        public object BeforeSendRequest(ref System.ServiceModel.Channels.Message request, IClientChannel channel) { return null; }
        public void AfterReceiveReply(ref System.ServiceModel.Channels.Message reply, object correlationState)
        {
            if (!reply.IsFault) Adapter.RequireSecurityTimestamp(reply.Headers);
        }
        public void AddBindingParameters(ServiceEndpoint endpoint, BindingParameterCollection parameters) { }
        public void ApplyClientBehavior(ServiceEndpoint endpoint, ClientRuntime runtime) { runtime.MessageInspectors.Add(this); }
        public void ApplyDispatchBehavior(ServiceEndpoint endpoint, EndpointDispatcher dispatcher) { }
        public void Validate(ServiceEndpoint endpoint) { }
    }

    public class Adapter : IPartner
    {
        readonly SoapChannel channel;
        readonly string user, password;
        readonly bool digest;

        public Adapter(Options o, string password)
        {
            Binding binding;
            if (o.Soap12)
                binding = new CustomBinding(
                    new TextMessageEncodingBindingElement(MessageVersion.Soap12WSAddressingAugust2004, Encoding.UTF8),
                    new HttpTransportBindingElement { MaxReceivedMessageSize = 4 << 20 });
            else
                binding = new BasicHttpBinding(BasicHttpSecurityMode.None) { MaxReceivedMessageSize = 4 << 20 };
            binding.SendTimeout = binding.ReceiveTimeout = TimeSpan.FromSeconds(30);
            var factory = new ChannelFactory<SoapChannel>(binding, new EndpointAddress(o.Endpoint));
            factory.Endpoint.Behaviors.Add(new SecurityTimestampCheck());
            channel = factory.CreateChannel();
            user = o.User; this.password = password; digest = o.Digest;
        }

        T Call<T>(Func<T> f)
        {
            using (new OperationContextScope(channel))
            {
                OperationContext.Current.OutgoingMessageHeaders.Add(new SecurityMessageHeader(user, password, digest));
                return f();
            }
        }

        const string WsseNs = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
        const string WsuNs = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";

        // What a WCF security binding (TransportWithMessageCredential, which Mono cannot build)
        // checks first in every response: a wsse:Security header holding a valid wsu:Timestamp.
        // Without it .NET throws "Security requirements are not satisfied because the security
        // header is not present in the incoming message" (FuelSDK-CSharp #89).
        public static void RequireSecurityTimestamp(MessageHeaders headers)
        {
            int i = headers.FindHeader("Security", WsseNs);
            if (i < 0)
                throw new Exception("Security requirements are not satisfied because the security header is not present in the incoming message.");
            var doc = new XmlDocument();
            using (var r = headers.GetReaderAtHeader(i))
                doc.Load(r);
            var ts = doc.GetElementsByTagName("Timestamp", WsuNs);
            if (ts.Count != 1)
                throw new Exception("the response's wsse:Security header has no wsu:Timestamp");
            var created = ((XmlElement)ts[0]).GetElementsByTagName("Created", WsuNs);
            var expires = ((XmlElement)ts[0]).GetElementsByTagName("Expires", WsuNs);
            if (created.Count != 1 || expires.Count != 1)
                throw new Exception("the response's wsu:Timestamp lacks Created or Expires");
            var c = XmlConvert.ToDateTime(created[0].InnerText, XmlDateTimeSerializationMode.Utc);
            var e = XmlConvert.ToDateTime(expires[0].InnerText, XmlDateTimeSerializationMode.Utc);
            if (e <= c)
                throw new Exception("the response's wsu:Timestamp expires before it was created");
        }

        public CreateOutcome Create(DateTime sendDate, int n)
        {
            var run = Guid.NewGuid().ToString("N").Substring(0, 8); // CustomerKey is unique per account
            var objs = Enumerable.Range(0, n).Select(i => (APIObject)new Send
            {
                CustomerKey = "interop-wcf-" + run + "-" + i,
                Email = new Email { ID = Scenario.EmailId, IDSpecified = true },
                List = new[] { new List { ID = Scenario.ListId, IDSpecified = true } },
                SendDate = sendDate, SendDateSpecified = true,
                Subject = "interop wcf " + i,
                EmailName = "interop-wcf-" + i,
            }).ToArray();
            var r = Call(() => channel.Create(new CreateRequest(new CreateOptions(), objs)));
            var results = r.Results ?? new CreateResult[0];
            return new CreateOutcome
            {
                Overall = r.OverallStatus,
                Codes = results.Select(x => x.StatusCode).ToArray(),
                Ids = results.Select(x => x.NewID).ToArray(),
            };
        }

        RetrieveOutcome Retrieve(FilterPart filter)
        {
            var req = new RetrieveRequest
            {
                ObjectType = "Send",
                Properties = new[] { "ID", "SendDate", "Status", "Email.ID" },
                Filter = filter,
            };
            var r = Call(() => channel.Retrieve(new RetrieveRequest1(req)));
            var sends = (r.Results ?? new APIObject[0]).Cast<Send>().ToArray();
            return new RetrieveOutcome
            {
                Overall = r.OverallStatus,
                Ids = sends.Select(s => s.ID).ToArray(),
                Statuses = sends.Select(s => s.Status).ToArray(),
                SendDates = sends.Select(s => s.SendDateSpecified ? (DateTime?)s.SendDate : null).ToArray(),
                EmailIds = sends.Select(s => s.Email != null && s.Email.IDSpecified ? (int?)s.Email.ID : null).ToArray(),
            };
        }

        static SimpleFilterPart Simple(SimpleOperators op, params int[] ids)
        {
            return new SimpleFilterPart { Property = "ID", SimpleOperator = op, Value = ids.Select(i => i.ToString()).ToArray() };
        }

        public RetrieveOutcome RetrieveIn(int[] ids) { return Retrieve(Simple(SimpleOperators.IN, ids)); }

        public RetrieveOutcome RetrieveOr(int[] ids)
        {
            return Retrieve(new ComplexFilterPart
            {
                LeftOperand = Simple(SimpleOperators.equals, ids[0]),
                LogicalOperator = LogicalOperators.OR,
                RightOperand = Simple(SimpleOperators.equals, ids[1]),
            });
        }

        public PerformOutcome Perform(string action, int[] ids)
        {
            var defs = ids.Select(id => (APIObject)new Send { ID = id, IDSpecified = true }).ToArray();
            var r = Call(() => channel.Perform(new PerformRequest(new PerformOptions(), action, defs)));
            var results = r.Results ?? new PerformResult[0];
            return new PerformOutcome
            {
                Overall = r.OverallStatus,
                Codes = results.Select(x => x.StatusCode).ToArray(),
                ErrorCodes = results.Select(x => x.ErrorCodeSpecified ? (int?)x.ErrorCode : null).ToArray(),
                RequestID = r.RequestID,
            };
        }

        public string FaultText(Exception e)
        {
            var f = e as FaultException;
            if (f == null) return null;
            var code = f.Code == null ? "" : f.Code.Name + (f.Code.SubCode != null ? "/" + f.Code.SubCode.Name : "");
            return code + " " + f.Message;
        }
    }

    public static class Program
    {
        public static int Main(string[] args)
        {
            var o = Options.Parse(args);
            return Scenario.Run(o.Label, pw => new Adapter(o, pw), o.Password);
        }
    }
}
