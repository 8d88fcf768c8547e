"""zeep (Debian python3-zeep) against partnerd, the way a zeep user writes it.

Run with /usr/bin/python3 (Debian's zeep), see interop/run.sh.
"""
import os
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import zeep  # noqa: E402
from zeep.exceptions import Fault  # noqa: E402
from zeep.transports import Transport  # noqa: E402
from zeep.wsse.username import UsernameToken  # noqa: E402

import scenario  # noqa: E402

SERVICE = "{http://exacttarget.com/wsdl/partnerAPI}SoapBinding"


class Adapter:
    def __init__(self, opts, password):
        self.opts = opts
        token = UsernameToken(opts.user, password or opts.password, use_digest=opts.digest)
        self.client = zeep.Client(opts.wsdl, wsse=token, transport=Transport(timeout=30, operation_timeout=30))
        # The WSDL's soap:address may name another host (the reference WSDL names
        # webservice.exacttarget.com): point the binding at our endpoint, as users do.
        self.svc = self.client.create_service(SERVICE, opts.endpoint)
        self.t = lambda name: self.client.get_type("ns0:" + name)

    def create(self, send_date, n):
        Send, Email, List = self.t("Send"), self.t("Email"), self.t("List")
        run = uuid.uuid4().hex[:8]  # CustomerKey is unique per account: one per run
        objs = [Send(Email=Email(ID=scenario.EMAIL_ID), List=[List(ID=scenario.LIST_ID)], SendDate=send_date,
                     Subject="interop zeep %d" % i, EmailName="interop-zeep-%d" % i,
                     CustomerKey="interop-zeep-%s-%d" % (run, i)) for i in range(n)]
        r = self.svc.Create(Options=self.t("CreateOptions")(), Objects=objs)
        return [(x.StatusCode, x.NewID) for x in r.Results], r.OverallStatus

    def _retrieve(self, flt):
        req = self.t("RetrieveRequest")(ObjectType="Send", Properties=["ID", "SendDate", "Status", "Email.ID"], Filter=flt)
        r = self.svc.Retrieve(RetrieveRequest=req)
        return ([(s.ID, s.Status, scenario.epoch(s.SendDate), s.Email.ID if s.Email is not None else None)
                 for s in (r.Results or [])], r.OverallStatus)

    def retrieve_in(self, ids):
        return self._retrieve(self.t("SimpleFilterPart")(Property="ID", SimpleOperator="IN", Value=[str(i) for i in ids]))

    def retrieve_or(self, ids):
        SFP = self.t("SimpleFilterPart")
        flt = self.t("ComplexFilterPart")(
            LeftOperand=SFP(Property="ID", SimpleOperator="equals", Value=[str(ids[0])]),
            LogicalOperator="OR",
            RightOperand=SFP(Property="ID", SimpleOperator="equals", Value=[str(ids[1])]))
        return self._retrieve(flt)

    def perform(self, action, ids):
        Send = self.t("Send")
        r = self.svc.Perform(Options=self.t("PerformOptions")(), Action=action,
                             Definitions={"Definition": [Send(ID=i) for i in ids]})
        results = r.Results.Result if r.Results is not None else []
        return [(x.StatusCode, x.ErrorCode) for x in results], r.OverallStatus, r.RequestID

    @staticmethod
    def is_fault(e):
        return isinstance(e, Fault)

    @staticmethod
    def fault_text(e):
        # zeep's Fault: message = faultstring (1.1) / Reason (1.2), code = faultcode / Code.
        return "%s %s %s" % (e.code, e.subcodes or "", e.message or "")


if __name__ == "__main__":
    o = scenario.args()
    scenario.run(o.label, lambda pw: Adapter(o, pw))
