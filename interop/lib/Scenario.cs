// The interop scenario, shared by the .NET stacks (asmx, wcf). Each stack supplies an IPartner
// adapter that makes the calls the way that stack's users write them; this file runs the steps
// and checks what reached the caller. Output: one `ok`/`FAIL` line per check and a closing
// `RESULT pass=N fail=N` line that interop/run.sh counts.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Interop
{
    public class CreateOutcome { public string Overall; public string[] Codes; public int[] Ids; }
    public class RetrieveOutcome
    {
        public string Overall; public int[] Ids; public string[] Statuses;
        public DateTime?[] SendDates; public int?[] EmailIds;
    }
    public class PerformOutcome { public string Overall; public string[] Codes; public int?[] ErrorCodes; public string RequestID; }

    public interface IPartner
    {
        CreateOutcome Create(DateTime sendDate, int n);
        RetrieveOutcome RetrieveIn(int[] ids);   // SimpleFilterPart ID IN (a, b)
        RetrieveOutcome RetrieveOr(int[] ids);   // ComplexFilterPart (ID equals a) OR (ID equals b)
        PerformOutcome Perform(string action, int[] ids);
        // The fault text when e is this stack's SOAP fault exception, else null.
        string FaultText(Exception e);
    }

    public class Options
    {
        public string Wsdl, Endpoint, User, Password, Label;
        public bool Digest, Soap12;

        public static Options Parse(string[] args)
        {
            var o = new Options();
            for (int i = 0; i < args.Length; i++)
            {
                switch (args[i])
                {
                    case "--wsdl": o.Wsdl = args[++i]; break;
                    case "--endpoint": o.Endpoint = args[++i]; break;
                    case "--user": o.User = args[++i]; break;
                    case "--password": o.Password = args[++i]; break;
                    case "--label": o.Label = args[++i]; break;
                    case "--digest": o.Digest = true; break;
                    case "--soap12": o.Soap12 = true; break;
                    default: throw new ArgumentException("unknown argument " + args[i]);
                }
            }
            if (o.Endpoint == null || o.User == null || o.Password == null || o.Label == null)
                throw new ArgumentException("need --endpoint --user --password --label");
            return o;
        }
    }

    // WS-Security UsernameToken Profile 1.0 values, as legacy .NET code computed them by hand.
    public class UsernameTokenValues
    {
        public const string Wsse = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
        public const string Wsu = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
        public const string PasswordText = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText";
        public const string PasswordDigest = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest";
        public const string Base64Binary = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary";

        public string Username, Password, PasswordType, Nonce, Created;

        // A fresh nonce and Created for every message: digest = Base64(SHA-1(nonce + created + password)).
        public static UsernameTokenValues Make(string user, string password, bool digest)
        {
            var v = new UsernameTokenValues { Username = user };
            var nonce = new byte[16];
            using (var rng = RandomNumberGenerator.Create()) rng.GetBytes(nonce);
            v.Nonce = Convert.ToBase64String(nonce);
            v.Created = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ");
            if (!digest)
            {
                v.PasswordType = PasswordText;
                v.Password = password;
                return v;
            }
            v.PasswordType = PasswordDigest;
            var created = Encoding.UTF8.GetBytes(v.Created);
            var pw = Encoding.UTF8.GetBytes(password);
            var buf = nonce.Concat(created).Concat(pw).ToArray();
            using (var sha = SHA1.Create()) v.Password = Convert.ToBase64String(sha.ComputeHash(buf));
            return v;
        }
    }

    public static class Scenario
    {
        static readonly Regex Guid = new Regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
        const int UnknownId = 999999;
        public const int EmailId = 5001, ListId = 6001;
        static int passed, failed;
        static string label;

        static bool Check(string name, bool ok, string detail)
        {
            if (ok) { passed++; Console.WriteLine("ok   " + label + ": " + name); }
            else { failed++; Console.WriteLine("FAIL " + label + ": " + name + ": " + detail); }
            return ok;
        }

        static void Step(string name, Action a)
        {
            try { a(); }
            catch (Exception e)
            {
                Console.Error.WriteLine(e);
                var msg = e.GetType().Name + ": " + e.Message;
                Check(name, false, msg.Length > 500 ? msg.Substring(0, 500) : msg);
            }
        }

        static string Show(object[] xs) { return "[" + string.Join(",", xs.Select(x => x == null ? "null" : x.ToString())) + "]"; }
        static bool SameIds(int[] a, int[] b) { return a.OrderBy(x => x).SequenceEqual(b.OrderBy(x => x)); }

        public static int Run(string lbl, Func<string, IPartner> make, string password)
        {
            label = lbl;
            IPartner p = null;
            Step("load WSDL and build client", () => { p = make(password); Check("load WSDL and build client", true, ""); });
            if (p == null) return Done();

            var sendDate = DateTime.UtcNow.AddHours(2);
            sendDate = sendDate.AddTicks(-(sendDate.Ticks % TimeSpan.TicksPerSecond));
            int[] ids = null;

            Step("Create two Sends", () =>
            {
                var r = p.Create(sendDate, 2);
                ids = r.Ids;
                Check("Create two Sends", r.Overall == "OK" && r.Codes.Length == 2 && r.Codes.All(c => c == "OK")
                      && r.Ids.All(id => id > 0) && r.Ids.Distinct().Count() == 2,
                      "OverallStatus=" + r.Overall + " codes=" + Show(r.Codes) + " ids=" + Show(r.Ids.Cast<object>().ToArray()));
            });
            if (ids == null || ids.Length != 2) ids = new[] { UnknownId - 1, UnknownId - 2 };

            Step("Retrieve both (SimpleFilterPart ID IN)", () =>
            {
                var r = p.RetrieveIn(ids);
                Check("Retrieve both (SimpleFilterPart ID IN)", r.Overall == "OK" && SameIds(r.Ids, ids) && r.Statuses.All(s => s == "Scheduled"),
                      "OverallStatus=" + r.Overall + " ids=" + Show(r.Ids.Cast<object>().ToArray()) + " statuses=" + Show(r.Statuses));
                Check("Retrieve returns SendDate and Email.ID as created",
                      r.Ids.Length == 2 && r.SendDates.All(d => d.HasValue && d.Value.ToUniversalTime() == sendDate)
                      && r.EmailIds.All(e => e == EmailId),
                      "want SendDate=" + sendDate.ToString("o") + " Email.ID=" + EmailId + ", got SendDates="
                      + Show(r.SendDates.Select(d => d.HasValue ? (object)(d.Value.ToUniversalTime().ToString("o") + "/" + d.Value.Kind) : null).ToArray())
                      + " EmailIDs=" + Show(r.EmailIds.Cast<object>().ToArray()));
            });

            Step("Perform cancel on both", () =>
            {
                var r = p.Perform("cancel", ids);
                Check("Perform cancel on both", r.Overall == "OK" && r.Codes.Length == 2 && r.Codes.All(c => c == "OK"),
                      "OverallStatus=" + r.Overall + " codes=" + Show(r.Codes));
                Check("Perform RequestID is a GUID", r.RequestID != null && Guid.IsMatch(r.RequestID), "RequestID=" + r.RequestID);
            });

            Step("Perform cancel on unknown ID", () =>
            {
                var r = p.Perform("cancel", new[] { UnknownId });
                Check("Perform cancel on unknown ID", r.Overall == "Error" && r.Codes.Length == 1 && r.Codes[0] == "Error"
                      && r.ErrorCodes[0].HasValue && r.ErrorCodes[0].Value > 0,
                      "OverallStatus=" + r.Overall + " codes=" + Show(r.Codes) + " errorCodes=" + Show(r.ErrorCodes.Cast<object>().ToArray()));
            });

            Step("wrong password raises a fault", () =>
            {
                var bad = make("wrong-" + "password");
                Exception err = null;
                try { bad.Perform("cancel", ids); } catch (Exception e) { err = e; }
                var text = err == null ? null : p.FaultText(err);
                if (err != null && text == null) Console.Error.WriteLine(err);
                Check("wrong password raises a fault", text != null && text.Contains("Login failed") && text.Contains("Security"),
                      err == null ? "no exception" : err.GetType().FullName + ": " + err.Message + " (" + text + ")");
            });

            Step("Retrieve after cancel (ComplexFilterPart OR)", () =>
            {
                var r = p.RetrieveOr(ids);
                Check("Retrieve after cancel (ComplexFilterPart OR)", r.Overall == "OK" && SameIds(r.Ids, ids) && r.Statuses.All(s => s == "Canceled"),
                      "OverallStatus=" + r.Overall + " ids=" + Show(r.Ids.Cast<object>().ToArray()) + " statuses=" + Show(r.Statuses));
            });
            return Done();
        }

        static int Done()
        {
            Console.WriteLine("RESULT pass=" + passed + " fail=" + failed);
            return failed == 0 ? 0 : 1;
        }
    }
}
