// Follows a long job started from this page: polls its progress and fills the <progress> bar.
document.querySelectorAll("[data-progress-url]").forEach((box) => {
  const bar = box.querySelector("progress");
  const text = box.querySelector("[data-progress-text]");
  const poll = async () => {
    const response = await fetch(box.dataset.progressUrl, { headers: { Accept: "application/json" } });
    if (!response.ok) { text.textContent = "Progress unavailable (" + response.status + ")"; return; }
    const p = await response.json();
    bar.max = p.total || 1;
    bar.value = p.done;
    const finished = p.status === "SUCCESSFUL" || p.status === "FAILED";
    text.textContent = p.status === "SUCCESSFUL" ? "Done: " + (p.message || p.done + " of " + p.total)
      : p.status === "FAILED" ? "Failed: see Jobs" : (p.message || "Waiting for a worker…");
    box.dataset.status = p.status || "";
    if (!finished) setTimeout(poll, 1000);
  };
  poll();
});
