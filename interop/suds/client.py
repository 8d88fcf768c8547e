"""suds (Debian python3-suds, the suds-community fork) against partnerd, as FuelSDK-Python-era code
drives it: Client(wsdl, location=endpoint), suds.wsse.Security + UsernameToken.

Run with /usr/bin/python3 (Debian's suds), see interop/run.sh.
"""
import base64
import copy
import hashlib
import os
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from suds import WebFault  # noqa: E402
from suds.client import Client  # noqa: E402
from suds.sax.date import DateTime  # noqa: E402
from suds.wsse import Security, UsernameToken  # noqa: E402

import scenario  # noqa: E402


class DigestToken(UsernameToken):
    """suds writes PasswordDigest only when given the digest: a fresh nonce and Created per
    request, digest = Base64(SHA-1(nonce + created + password)) (WSS UsernameToken Profile 1.0)."""

    def xml(self):
        raw = os.urandom(16)
        self.nonce = base64.b64encode(raw).decode()
        self.setnonceencoding(True)
        self.setcreated()
        created = str(DateTime(self.created))
        self.setpassworddigest(base64.b64encode(
            hashlib.sha1(raw + created.encode() + self.password.encode()).digest()).decode())
        return UsernameToken.xml(self)


# suds' factory.create builds the whole optional tree of a type: about 3 s for a Send here (its
# EmailSendDefinition, SenderProfile, … subtrees). Code that makes many Sends builds one and
# copies it; nested objects that need no xsi:type (Email, List) are passed as plain dicts.
_send_prototype = []


class Adapter:
    def new_send(self):
        if not _send_prototype:
            _send_prototype.append(self.client.factory.create("Send"))
        return copy.deepcopy(_send_prototype[0])

    def __init__(self, opts, password):
        # cache=None: each run loads the WSDL it is given (no stale ~/.cache between suites).
        self.client = Client(opts.wsdl, location=opts.endpoint, cache=None, timeout=30)
        sec = Security()
        cls = DigestToken if opts.digest else UsernameToken
        sec.tokens.append(cls(opts.user, password or opts.password))
        self.client.set_options(wsse=sec)

    def create(self, send_date, n):
        objs = []
        run = uuid.uuid4().hex[:8]  # CustomerKey is unique per account: one per run
        for i in range(n):
            s = self.new_send()
            s.Email = {"ID": scenario.EMAIL_ID}
            s.List = [{"ID": scenario.LIST_ID}]
            s.SendDate = send_date
            s.Subject = "interop suds %d" % i
            s.EmailName = "interop-suds-%d" % i
            s.CustomerKey = "interop-suds-%s-%d" % (run, i)
            objs.append(s)
        r = self.client.service.Create(Options=self.client.factory.create("CreateOptions"), Objects=objs)
        return [(x.StatusCode, int(x.NewID)) for x in r.Results], r.OverallStatus

    def _retrieve(self, flt):
        req = self.client.factory.create("RetrieveRequest")
        req.ObjectType = "Send"
        req.Properties = ["ID", "SendDate", "Status", "Email.ID"]
        req.Filter = flt
        r = self.client.service.Retrieve(RetrieveRequest=req)
        results = getattr(r, "Results", None) or []
        return ([(int(s.ID), s.Status, scenario.epoch(getattr(s, "SendDate", None)),
                  int(s.Email.ID) if getattr(s, "Email", None) is not None else None) for s in results],
                r.OverallStatus)

    def _simple(self, op, values):
        f = self.client.factory.create("SimpleFilterPart")
        f.Property = "ID"
        f.SimpleOperator = op
        f.Value = [str(v) for v in values]
        return f

    def retrieve_in(self, ids):
        return self._retrieve(self._simple("IN", ids))

    def retrieve_or(self, ids):
        c = self.client.factory.create("ComplexFilterPart")
        c.LeftOperand = self._simple("equals", [ids[0]])
        c.LogicalOperator = "OR"
        c.RightOperand = self._simple("equals", [ids[1]])
        return self._retrieve(c)

    def perform(self, action, ids):
        defs = []
        for i in ids:
            s = self.new_send()
            s.ID = i
            defs.append(s)
        r = self.client.service.Perform(Options=self.client.factory.create("PerformOptions"), Action=action,
                                        Definitions={"Definition": defs})
        results = r.Results.Result if getattr(r, "Results", None) else []
        return ([(x.StatusCode, int(x.ErrorCode) if getattr(x, "ErrorCode", None) is not None else None)
                 for x in results], r.OverallStatus, r.RequestID)

    @staticmethod
    def is_fault(e):
        return isinstance(e, WebFault)

    @staticmethod
    def fault_text(e):
        return "%s %s" % (getattr(e.fault, "faultcode", ""), getattr(e.fault, "faultstring", ""))


if __name__ == "__main__":
    o = scenario.args()
    scenario.run(o.label, lambda pw: Adapter(o, pw))
