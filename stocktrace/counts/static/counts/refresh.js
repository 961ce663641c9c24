// A running count's supervision panels refresh themselves: fetched again every 10 s and swapped in place,
// unless the person is typing in one (a half-typed exception mapping is never wiped).
document.querySelectorAll("[data-refresh]").forEach((box) => {
  const refresh = async () => {
    if (!box.contains(document.activeElement) || document.activeElement === document.body) {
      try {
        const response = await fetch(box.dataset.refresh, { headers: { Accept: "text/html" } });
        if (response.ok) box.innerHTML = await response.text();
      } catch (error) { /* offline for a moment: try again next time */ }
    }
    setTimeout(refresh, 10000);
  };
  setTimeout(refresh, 10000);
});
