// .NET ASMX client: the SoapHttpClientProtocol proxy that Mono's `wsdl` generates from the WSDL
// (class PartnerAPI, namespace PartnerApi; see interop/run.sh), used as legacy code uses it:
// the endpoint set through Url, the WS-Security UsernameToken added as a SoapHeader, the
// wsdl.exe signatures (out OverallStatus / out RequestID) and the *Specified flags.
using System;
using System.Linq;
using System.Web.Services.Protocols;
using System.Xml;
using System.Xml.Serialization;
using Interop;
using PartnerApi;

namespace Interop.Asmx
{
    [XmlType(Namespace = UsernameTokenValues.Wsse)]
    public class WssePassword
    {
        [XmlAttribute("Type")] public string Type;
        [XmlText] public string Value;
    }

    [XmlType(Namespace = UsernameTokenValues.Wsse)]
    public class WsseNonce
    {
        [XmlAttribute("EncodingType")] public string EncodingType;
        [XmlText] public string Value;
    }

    [XmlType(Namespace = UsernameTokenValues.Wsse)]
    public class WsseUsernameToken
    {
        [XmlElement(Namespace = UsernameTokenValues.Wsse)] public string Username;
        [XmlElement(Namespace = UsernameTokenValues.Wsse)] public WssePassword Password;
        [XmlElement(Namespace = UsernameTokenValues.Wsse)] public WsseNonce Nonce;
        [XmlElement(Namespace = UsernameTokenValues.Wsu)] public string Created;
    }

    // <wsse:Security><wsse:UsernameToken>…</wsse:UsernameToken></wsse:Security> as a SoapHeader.
    [XmlRoot("Security", Namespace = UsernameTokenValues.Wsse)]
    public class SecurityHeader : SoapHeader
    {
        [XmlElement(Namespace = UsernameTokenValues.Wsse)] public WsseUsernameToken UsernameToken;

        public static SecurityHeader For(string user, string password, bool digest)
        {
            var v = UsernameTokenValues.Make(user, password, digest);
            var h = new SecurityHeader
            {
                UsernameToken = new WsseUsernameToken
                {
                    Username = v.Username,
                    Password = new WssePassword { Type = v.PasswordType, Value = v.Password },
                },
                MustUnderstand = true,
            };
            if (digest)
            {
                h.UsernameToken.Nonce = new WsseNonce { EncodingType = UsernameTokenValues.Base64Binary, Value = v.Nonce };
                h.UsernameToken.Created = v.Created;
            }
            return h;
        }
    }

    // The generated proxy takes no header for an operation the WSDL declares none for, so legacy
    // code subclassed it and added the Security header to every outgoing message.
    public class SecuredPartnerAPI : PartnerAPI
    {
        readonly string user, password;
        readonly bool digest;

        public SecuredPartnerAPI(string url, string user, string password, bool digest)
        {
            Url = url;
            Timeout = 30000;
            this.user = user; this.password = password; this.digest = digest;
        }

        protected override XmlWriter GetWriterForMessage(SoapClientMessage message, int bufferSize)
        {
            message.Headers.Add(SecurityHeader.For(user, password, digest));
            return base.GetWriterForMessage(message, bufferSize);
        }
    }

    public class Adapter : IPartner
    {
        readonly PartnerAPI api;

        public Adapter(Options o, string password)
        {
            api = new SecuredPartnerAPI(o.Endpoint, o.User, password, o.Digest);
        }

        public CreateOutcome Create(DateTime sendDate, int n)
        {
            var run = Guid.NewGuid().ToString("N").Substring(0, 8); // CustomerKey is unique per account
            var objs = Enumerable.Range(0, n).Select(i => (APIObject)new Send
            {
                CustomerKey = "interop-asmx-" + run + "-" + i,
                Email = new Email { ID = Scenario.EmailId, IDSpecified = true },
                List = new[] { new List { ID = Scenario.ListId, IDSpecified = true } },
                SendDate = sendDate, SendDateSpecified = true,
                Subject = "interop asmx " + i,
                EmailName = "interop-asmx-" + i,
            }).ToArray();
            string requestId, overall;
            var results = api.Create(new CreateOptions(), objs, out requestId, out overall);
            return new CreateOutcome
            {
                Overall = overall,
                Codes = results.Select(r => r.StatusCode).ToArray(),
                Ids = results.Select(r => r.NewID).ToArray(),
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
            string requestId;
            APIObject[] results;
            var overall = api.Retrieve(req, out requestId, out results);
            var sends = (results ?? new APIObject[0]).Cast<Send>().ToArray();
            return new RetrieveOutcome
            {
                Overall = overall,
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
            // As in the Partner API docs' .NET sample for canceling a scheduled send.
            var defs = ids.Select(id => (APIObject)new Send { ID = id, IDSpecified = true }).ToArray();
            string overall, overallMessage, requestId;
            var results = api.Perform(new PerformOptions(), action, defs, out overall, out overallMessage, out requestId) ?? new PerformResult[0];
            return new PerformOutcome
            {
                Overall = overall,
                Codes = results.Select(r => r.StatusCode).ToArray(),
                ErrorCodes = results.Select(r => r.ErrorCodeSpecified ? (int?)r.ErrorCode : null).ToArray(),
                RequestID = requestId,
            };
        }

        public string FaultText(Exception e)
        {
            var f = e as SoapException;
            return f == null ? null : f.Code + " " + f.Message;
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
