package vcheck
import ("os";"testing";"github.com/partnerd/partnerd/internal/xsdcheck")
func TestV(t *testing.T){ for _, f := range []string{"/tmp/resp.xml","/tmp/resp2.xml"} { b,err:=os.ReadFile(f); if err!=nil {continue}; if err:=xsdcheck.ValidateEnvelope(b); err!=nil {t.Errorf("%s: %v",f,err)} } }
