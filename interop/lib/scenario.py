"""The interop scenario, shared by the Python stacks (zeep, suds).

Each stack supplies an adapter that makes the calls the way that stack's users write them; this
module only runs the steps and checks what reached the caller. Output: one `ok`/`FAIL` line per
check and a closing `RESULT pass=N fail=N` line that interop/run.sh counts.
"""
import argparse
import datetime
import re
import sys
import traceback

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
UNKNOWN_ID = 999999
EMAIL_ID, LIST_ID = 5001, 6001


def epoch(dt):
    """Seconds since the epoch of a datetime from a SOAP stack (naive means UTC)."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    return int(dt.timestamp())


def args():
    p = argparse.ArgumentParser()
    p.add_argument("--wsdl", required=True, help="WSDL URL or file")
    p.add_argument("--endpoint", required=True, help="Service.asmx URL (overrides the WSDL's address)")
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--digest", action="store_true", help="PasswordDigest instead of PasswordText")
    p.add_argument("--label", required=True)
    return p.parse_args()


class Checker:
    def __init__(self, label):
        self.label, self.passed, self.failed = label, 0, 0

    def check(self, name, cond, detail=""):
        if cond:
            self.passed += 1
            print("ok   %s: %s" % (self.label, name), flush=True)
        else:
            self.failed += 1
            print("FAIL %s: %s: %s" % (self.label, name, detail), flush=True)
        return cond

    def step(self, name, fn):
        """Runs fn; an exception fails the step (with its traceback on stderr) and returns None."""
        try:
            return fn()
        except Exception as e:  # noqa: BLE001 - any client error is a failed check
            traceback.print_exc(file=sys.stderr)
            self.check(name, False, "%s: %s" % (type(e).__name__, str(e)[:500]))
            return None

    def done(self):
        print("RESULT pass=%d fail=%d" % (self.passed, self.failed), flush=True)
        sys.exit(1 if self.failed else 0)


def run(label, make_adapter):
    """make_adapter(password) -> adapter (see zeep/suds clients):
    create(send_date, n) -> ([(StatusCode, NewID)], OverallStatus)
    retrieve_in(ids) / retrieve_or(ids) -> ([(ID, Status, epoch(SendDate), Email.ID)], OverallStatus)
    perform(action, ids) -> ([(StatusCode, ErrorCode)], OverallStatus, RequestID)
    is_fault(exc), fault_text(exc)"""
    c = Checker(label)
    a = c.step("load WSDL and build client", lambda: make_adapter(None))
    if a is None:
        c.done()
    c.check("load WSDL and build client", True)

    send_date = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=2)).replace(microsecond=0)

    # 2. Create two Sends in the future, then Retrieve them with an IN filter.
    created = c.step("Create two Sends", lambda: a.create(send_date, 2))
    ids = []
    if created is not None:
        results, overall = created
        ids = [r[1] for r in results]
        c.check("Create two Sends", overall == "OK" and len(results) == 2
                and all(r[0] == "OK" and isinstance(r[1], int) and r[1] > 0 for r in results)
                and len(set(ids)) == 2,
                "OverallStatus=%r results=%r" % (overall, results))
    if len(ids) != 2:
        ids = [UNKNOWN_ID - 1, UNKNOWN_ID - 2]  # keep going so every later step is still counted

    got = c.step("Retrieve both (SimpleFilterPart ID IN)", lambda: a.retrieve_in(ids))
    if got is not None:
        sends, overall = got
        c.check("Retrieve both (SimpleFilterPart ID IN)",
                overall == "OK" and sorted(s[0] for s in sends) == sorted(ids)
                and all(s[1] == "Scheduled" for s in sends),
                "OverallStatus=%r sends=%r" % (overall, sends))
        want = int(send_date.timestamp())
        c.check("Retrieve returns SendDate and Email.ID as created",
                len(sends) == 2 and all(s[2] == want and s[3] == EMAIL_ID for s in sends),
                "want SendDate=%d Email.ID=%d, got %r" % (want, EMAIL_ID, sends))

    # 3. Cancel both in one Perform.
    got = c.step("Perform cancel on both", lambda: a.perform("cancel", ids))
    if got is not None:
        results, overall, rid = got
        c.check("Perform cancel on both", overall == "OK" and [r[0] for r in results] == ["OK", "OK"],
                "OverallStatus=%r results=%r" % (overall, results))
        c.check("Perform RequestID is a GUID", isinstance(rid, str) and GUID.match(rid) is not None,
                "RequestID=%r" % (rid,))

    # 4. Cancel an unknown ID.
    got = c.step("Perform cancel on unknown ID", lambda: a.perform("cancel", [UNKNOWN_ID]))
    if got is not None:
        results, overall, rid = got
        c.check("Perform cancel on unknown ID",
                overall == "Error" and len(results) == 1 and results[0][0] == "Error"
                and isinstance(results[0][1], int) and results[0][1] > 0,
                "OverallStatus=%r results=%r" % (overall, results))

    # 5. A wrong password surfaces as this stack's fault exception.
    def wrong_password():
        bad = make_adapter("wrong-" + "password")
        try:
            bad.perform("cancel", ids)
        except Exception as e:  # noqa: BLE001
            return e
        return None
    err = c.step("wrong password raises a fault", wrong_password)
    text = a.fault_text(err) if err is not None and a.is_fault(err) else ""
    c.check("wrong password raises a fault", "Login failed" in text and "Security" in text,
            "got %r (%s)" % (err, text))

    # 6. Retrieve again (ComplexFilterPart: ID equals a OR ID equals b): both Canceled.
    got = c.step("Retrieve after cancel (ComplexFilterPart OR)", lambda: a.retrieve_or(ids))
    if got is not None:
        sends, overall = got
        c.check("Retrieve after cancel (ComplexFilterPart OR)",
                overall == "OK" and sorted(s[0] for s in sends) == sorted(ids)
                and all(s[1] == "Canceled" for s in sends),
                "OverallStatus=%r sends=%r" % (overall, sends))
    c.done()
