// The phone layout's two helpers: the menu behind one button, and tables read as stacked rows
// (each cell is labelled with its column's heading, which CSS shows beside the value on narrow screens).
const toggle = document.querySelector(".menu-toggle");
if (toggle) {
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    toggle.closest("header").classList.toggle("open", open);
  });
}
document.querySelectorAll(".table-wrap table").forEach((table) => {
  const headings = table.tHead ? [...table.tHead.rows[0].cells].map((cell) => cell.textContent.trim()) : [];
  table.querySelectorAll("tbody tr").forEach((row) => {
    let column = 0;
    [...row.cells].forEach((cell) => {
      if (headings[column] && !cell.hasAttribute("data-label")) cell.dataset.label = headings[column];
      if (["", "—"].includes(cell.textContent.trim()) && !cell.querySelector("input, button")) cell.dataset.blank = "";
      column += cell.colSpan || 1;
    });
  });
});
