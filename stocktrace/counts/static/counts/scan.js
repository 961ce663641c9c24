// The scanning page. A keyboard-wedge scanner types a code and Enter (or Tab); each code is queued with a uuid
// made here and sent in order, so a burst of scans is never dropped and a retry is never counted twice. The
// field is emptied at once and keeps the focus. Every answer is shown by colour and sound.
(() => {
  const page = document.querySelector("[data-scan-page]");
  const field = page && page.querySelector("#scan-code");
  if (!field) return;
  const quantityField = page.querySelector("#scan-quantity");
  const feedback = page.querySelector("[data-testid=feedback]");
  const pendingText = page.querySelector("[data-testid=pending]");
  const total = page.querySelector("[data-testid=my-total]");
  const log = page.querySelector("[data-testid=log]");
  const csrf = page.querySelector("[name=csrfmiddlewaretoken]").value;
  const submit = page.querySelector("[data-submit] button");
  const queue = [];
  let sending = false;
  let audio = null;

  // crypto.randomUUID needs https; a warehouse LAN often serves plain http.
  const uuid4 = () => {
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  };
  const beep = (tones) => {
    try {
      audio = audio || new AudioContext();
      tones.forEach(([frequency, start, length]) => {
        const osc = audio.createOscillator(); const gain = audio.createGain();
        osc.frequency.value = frequency; gain.gain.value = 0.08;
        osc.connect(gain).connect(audio.destination);
        osc.start(audio.currentTime + start); osc.stop(audio.currentTime + start + length);
      });
    } catch (error) { /* no sound here: the colour says it */ }
  };
  const SOUNDS = { accepted: [[1320, 0, 0.08]], duplicate: [[880, 0, 0.06], [880, 0.1, 0.06]],
    exception: [[660, 0, 0.1], [990, 0.12, 0.1]], refused: [[220, 0, 0.35]] };
  const addTotal = (delta) => {
    const next = Math.round((parseFloat(total.dataset.total) + delta) * 1000) / 1000;
    total.dataset.total = String(next); total.textContent = String(next);
  };
  const show = (kind, text) => {
    feedback.textContent = text; feedback.dataset.kind = kind;
    page.dataset.flash = kind; setTimeout(() => { if (page.dataset.flash === kind) delete page.dataset.flash; }, 600);
    const item = document.createElement("li"); item.dataset.kind = kind; item.textContent = text;
    log.prepend(item); while (log.children.length > 20) log.lastChild.remove();
    beep(SOUNDS[kind] || SOUNDS.refused);
  };
  const showPending = () => {
    pendingText.hidden = queue.length === 0;
    pendingText.textContent = `${queue.length} scan${queue.length === 1 ? "" : "s"} waiting to be sent`;
    if (submit) submit.disabled = queue.length > 0;
  };

  // A request that hangs (a phone between access points) is given up after 8 s and sent again with the same
  // uuid: the server answers the first result, so nothing is lost and nothing counted twice.
  const send = async (item) => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 8000);
    try {
      const response = await fetch(item.url, { method: "POST", credentials: "same-origin", signal: controller.signal,
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf }, body: JSON.stringify(item.body) });
      if (response.status >= 500 || response.status === 429) throw new Error(`server ${response.status}`);
      return [response.status, await response.json()];
    } finally {
      clearTimeout(timer);
    }
  };
  const pump = async () => {
    if (sending) return;
    sending = true;
    while (queue.length) {
      const item = queue[0];
      let status, body;
      try { [status, body] = await send(item); } catch (error) {
        feedback.textContent = "No connection: your scans wait here and are sent when it is back."; feedback.dataset.kind = "offline";
        await new Promise((resolve) => setTimeout(resolve, 3000));
        continue;
      }
      queue.shift(); showPending();
      if (status === 201 && item.undo) {
        addTotal(body.item_id ? parseFloat(body.quantity) : 0);
        show("accepted", `Undone: ${body.code} ${body.quantity}`);
      } else if (status === 201 && body.outcome === "accepted") {
        addTotal(parseFloat(body.quantity)); show("accepted", `${body.code} × ${parseFloat(body.quantity)}`);
      } else if (status === 201 && body.outcome === "duplicate") {
        show("duplicate", `${body.code}: already counted`);
      } else if (status === 201 && body.outcome === "exception") {
        show("exception", `${body.code}: unknown here, kept for the supervisor`);
      } else {
        show("refused", `${item.body.code || "Undo"}: ${body.detail || body.title || "refused"}`);
      }
    }
    sending = false;
  };

  const take = () => {
    let code = field.value.trim();
    field.value = "";
    if (!code) return;
    let quantity = (quantityField.value || "1").trim().replace(",", ".");
    const multiplied = code.match(/^(\d+(?:\.\d{1,3})?)\s*[*xX]\s*(.+)$/);
    if (multiplied) { [, quantity, code] = multiplied; }
    if (code.match(/^\d+(?:\.\d{1,3})?\s*[*xX]$/)) { quantityField.value = code.replace(/\s*[*xX]$/, ""); return; }
    quantityField.value = "1";
    queue.push({ url: page.dataset.scansUrl, body: { uuid: uuid4(), code, quantity,
      device_id: page.dataset.device, scanned_at: new Date().toISOString() } });
    showPending(); pump();
  };
  field.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === "Tab") { event.preventDefault(); take(); }
  });
  // The focus goes back to the scan field unless the person works the quantity field or a button.
  field.addEventListener("blur", () => setTimeout(() => {
    if (!document.activeElement || document.activeElement === document.body) field.focus();
  }, 0));
  quantityField.addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); field.focus(); }
  });
  page.querySelector("[data-undo]").addEventListener("click", () => {
    queue.push({ url: page.dataset.undoUrl, undo: true, body: { uuid: uuid4(), device_id: page.dataset.device } });
    showPending(); pump(); field.focus();
  });
})();
