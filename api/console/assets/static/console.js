// partnerd console: the one script, served from the console itself (the
// CSP allows no inline script). Without it every action still works
// through plain forms and a confirmation page.
"use strict";

(function () {
  const csrf = document.body.dataset.csrf || "";

  // post sends an action with the session's CSRF token and answers the
  // JSON reply (or throws its error message).
  async function post(url) {
    const res = await fetch(url, {
      method: "POST",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf },
      credentials: "same-origin",
    });
    const body = await res.json().catch(() => ({ error: "HTTP " + res.status }));
    if (!res.ok) throw new Error(body.error || "HTTP " + res.status);
    return body;
  }

  function showError(msg) {
    const p = document.getElementById("action-error");
    if (!p) { alert(msg); return; }
    p.textContent = msg;
    p.hidden = false;
  }

  // update rewrites a send's row from an action's answer: its status, and
  // the actions that status allows now.
  // Status changes made without a reload (an action's answer, the event
  // stream) are read out by screen readers through the layout's live
  // region; a change that removes the focused control leaves the focus in
  // the row, not lost to the page.
  const live = document.getElementById("live");
  function announce(msg) { if (live) live.textContent = msg; }

  function update(row, answer) {
    const status = row.querySelector(".status");
    const cell = row.querySelector(".actions");
    // An answer that changes nothing (the event stream's first word on
    // each shown send, a repeated cancel) leaves the row alone: rebuilt,
    // its controls would be new elements, and a keyboard user's focus
    // would jump back to the row's first one.
    const shown = Array.from(cell.querySelectorAll("[data-action]"), (el) => el.dataset.action);
    const actions = answer.actions || [];
    if (status.textContent === String(answer.status) && shown.length === actions.length &&
        shown.every((a, i) => a === actions[i])) return;
    const hadFocus = cell.contains(document.activeElement);
    if (status.textContent !== String(answer.status)) announce("Send " + row.dataset.id + " is now " + answer.status + ".");
    status.textContent = answer.status;
    status.className = "status status-" + String(answer.status).toLowerCase();
    const base = "/console/sends/" + row.dataset.account + "/" + row.dataset.id + "/";
    cell.replaceChildren();
    for (const a of answer.actions || []) {
      if (a === "cancel") {
        const x = document.createElement("a");
        x.className = "x"; x.href = base + "cancel"; x.textContent = "✕"; x.dataset.action = "cancel";
        x.title = x.ariaLabel = "Cancel send " + row.dataset.id;
        cell.append(x, " ");
      } else {
        const f = document.createElement("form");
        f.method = "post"; f.action = base + a; f.dataset.action = a;
        const b = document.createElement("button");
        b.type = "submit"; b.textContent = a[0].toUpperCase() + a.slice(1);
        f.append(b);
        cell.append(f, " ");
      }
    }
    if (hadFocus) focusIn(row);
  }

  // focusIn puts the focus on the row's first action, or on its status
  // when it has none left.
  function focusIn(row) {
    const next = row.querySelector(".actions a, .actions button");
    if (next) { next.focus(); return; }
    const status = row.querySelector(".status");
    status.tabIndex = -1;
    status.focus();
  }

  // enterDown: an Enter key is down. A link activates on Enter's keydown
  // and a button on its keypress, so the Enter that opens the cancel
  // dialog from the red X would press the dialog's focused Confirm too:
  // that keypress is swallowed.
  let enterDown = false;
  document.addEventListener("keydown", (ev) => { if (ev.key === "Enter") enterDown = true; }, true);
  document.addEventListener("keyup", (ev) => { if (ev.key === "Enter") enterDown = false; }, true);
  function swallowThisEnter() {
    if (!enterDown) return;
    const stop = (ev) => { if (ev.key === "Enter") ev.preventDefault(); };
    document.addEventListener("keypress", stop, true);
    document.addEventListener("keyup", () => document.removeEventListener("keypress", stop, true), { capture: true, once: true });
  }

  const table = document.querySelector("table.sends");
  const dialog = document.getElementById("confirm-cancel");
  if (table) {
    // The red X asks in a dialog, then cancels without leaving the page.
    table.addEventListener("click", (ev) => {
      const x = ev.target.closest("a.x");
      if (!x || !dialog || typeof dialog.showModal !== "function") return;
      ev.preventDefault();
      const row = x.closest("tr");
      dialog.querySelector(".confirm-id").textContent = row.dataset.id;
      dialog.returnValue = "";
      dialog.onclose = async () => {
        if (dialog.returnValue !== "confirm") return;
        try { update(row, await post(x.href)); } catch (e) { showError(e.message); announce(e.message); }
        // The live status may have rebuilt the row's actions while the
        // dialog was open, taking away the control the dialog gives the
        // focus back to: the focus comes back to the row all the same.
        if (!row.contains(document.activeElement)) focusIn(row);
      };
      swallowThisEnter();
      dialog.showModal();
      // The confirmation's primary control has the focus: Enter confirms,
      // Escape keeps the send.
      const ok = dialog.querySelector('button[value="confirm"]');
      if (ok) ok.focus();
    });
    // Pause and resume act at once.
    table.addEventListener("submit", async (ev) => {
      const f = ev.target.closest("form[data-action]");
      if (!f) return;
      ev.preventDefault();
      try { update(f.closest("tr"), await post(f.action)); } catch (e) { showError(e.message); }
    });
  }

  // Live status: the server streams the shown sends' statuses (server-
  // sent events), so a send completing, expiring or canceled elsewhere
  // changes its row without a reload. The browser reconnects by itself;
  // "end" (the session ended, the server stops) closes the stream.
  if (table && window.EventSource) {
    const rows = Array.from(table.querySelectorAll("tr[data-id]"));
    if (rows.length) {
      const s = rows.map((r) => r.dataset.account + "." + r.dataset.id).join(",");
      const es = new EventSource("/console/events?s=" + encodeURIComponent(s));
      es.addEventListener("send", (ev) => {
        const d = JSON.parse(ev.data);
        const row = document.getElementById("send-" + d.id);
        if (row && row.dataset.account === String(d.account)) update(row, d);
      });
      es.addEventListener("end", () => es.close());
    }
  }

  // Copy as curl.
  for (const b of document.querySelectorAll("button.copy")) {
    b.addEventListener("click", async () => {
      const text = document.getElementById(b.dataset.copy).textContent;
      try { await navigator.clipboard.writeText(text); b.textContent = "Copied"; }
      catch (e) { b.textContent = "Select the curl below and copy it"; }
    });
  }
})();
